import { DEBIAN_PACKAGES, unservedVersion } from './debian-tools';

describe('Debian tools', () => {
  it('names the pinned version Debian no longer serves, and where to change it', () => {
    const line = unservedVersion("Reading package lists...\nE: Version '1.22.1-9+deb12u1' for 'nginx' was not found\n");
    expect(line).toBe(
      'Debian bookworm no longer serves nginx 1.22.1-9+deb12u1: pin the version `apt-cache policy nginx` offers in DEBIAN_PACKAGES (infra/local/src/debian-tools.ts)',
    );
  });

  it('leaves any other apt failure to its own log', () => {
    expect(unservedVersion('E: Failed to fetch http://deb.debian.org/debian/pool/main/n/nginx/x.deb  404  Not Found')).toBeUndefined();
  });

  it('pins an exact Debian version for every package, nginx and kcat among them', () => {
    expect(Object.keys(DEBIAN_PACKAGES)).toEqual(expect.arrayContaining(['nginx', 'kcat', 'librdkafka1', 'libssl3']));
    for (const version of Object.values(DEBIAN_PACKAGES)) expect(version).toMatch(/^(\d+:)?[0-9][A-Za-z0-9.+~]*-[A-Za-z0-9.+~]+$/);
  });
});
