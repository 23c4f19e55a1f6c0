import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prepareDeployTools } from '../deploy-tools';
import { repoFile, run } from './deploy-checks';

/** The Dockerfile under BuildKit's own checks, the ones `docker build --check` runs. */
describe('Dockerfile', () => {
  let dockerfileLint = '';
  let dir = '';
  let copies = 0;

  beforeAll(async () => {
    ({ dockerfileLint } = await prepareDeployTools());
    dir = mkdtempSync(path.join(tmpdir(), 'dockerfile-'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const lintCopy = (edit: (text: string) => string) => {
    const original = readFileSync(repoFile('Dockerfile'), 'utf8');
    const edited = edit(original);
    expect(edited).not.toBe(original);
    copies += 1;
    const file = path.join(dir, `Dockerfile.${copies}`);
    writeFileSync(file, edited);
    return run(dockerfileLint, [file]);
  };

  it('passes every check with no warning', () => {
    expect(run(dockerfileLint, [repoFile('Dockerfile')])).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('reports a stage named with a lowercase "as", so a passing check means something', () => {
    const result = lintCopy((text) => text.replace('FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} as build'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/FromAsCasing/);
  });

  it('reports an entry point in shell form, which would keep signals from the service', () => {
    const result = lintCopy((text) => text.replace('ENTRYPOINT ["node", "--enable-source-maps"]', 'ENTRYPOINT node --enable-source-maps'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/JSONArgsRecommended/);
  });

  it('fails on a Dockerfile that does not parse', () => {
    const result = lintCopy((text) => text.replace('WORKDIR /app', 'WORKDIRR /app'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/unknown instruction: WORKDIRR/);
  });
});
