import { parseFileSpecs } from './file-spec';

describe('parseFileSpecs', () => {
  it('reads plain paths with the default format and prefixed ones with their own', () => {
    expect(parseFileSpecs('/var/log/nginx/access.log, json:/var/log/nginx/*.json ,common:/srv/a.log', 'combined')).toEqual({
      ok: true,
      value: [
        { pattern: '/var/log/nginx/access.log', format: 'combined' },
        { pattern: '/var/log/nginx/*.json', format: 'json' },
        { pattern: '/srv/a.log', format: 'common' },
      ],
    });
  });

  it('refuses an empty list, an unknown format and a prefix without a path', () => {
    expect(parseFileSpecs(' , ', 'combined')).toEqual({ ok: false, reason: 'must name at least one file or glob' });
    expect(parseFileSpecs('xml:/a.log', 'combined')).toMatchObject({ ok: false, reason: expect.stringContaining('unknown format') });
    expect(parseFileSpecs('json:', 'combined')).toMatchObject({ ok: false });
  });
});
