import { candidateVersion, DEBIAN_PACKAGES, replacementFor, unservedPins, unservedVersion } from './debian-tools';

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
  it('lists every pin apt says it no longer serves', () => {
    const output = "E: Version '1.22.1-9+deb12u11' for 'nginx' was not found\nE: Version '3.0.17-1~deb12u2' for 'libssl3' was not found\n";
    expect(unservedPins(output)).toEqual([
      { name: 'nginx', version: '1.22.1-9+deb12u11' },
      { name: 'libssl3', version: '3.0.17-1~deb12u2' },
    ]);
  });

  it('reads the version apt would fetch from apt-cache policy, and none when it has none', () => {
    const policy = 'nginx:\n  Installed: (none)\n  Candidate: 1.22.1-9+deb12u13\n  Version table:\n     1.22.1-9+deb12u13 500\n';
    expect(candidateVersion(policy)).toBe('1.22.1-9+deb12u13');
    expect(candidateVersion('nginx:\n  Installed: (none)\n  Candidate: (none)\n')).toBeUndefined();
    expect(candidateVersion('N: Unable to locate package nginx\n')).toBeUndefined();
  });

  it("takes Debian's update of the same release in place of a pin it no longer serves, and nothing else", () => {
    expect(replacementFor('1.22.1-9+deb12u12', '1.22.1-9+deb12u13')).toBe('1.22.1-9+deb12u13');
    expect(replacementFor('3.0.22-1~deb12u2', '3.0.22-1~deb12u3')).toBe('3.0.22-1~deb12u3');
    expect(replacementFor('2.1.28+dfsg-10', '2.1.28+dfsg-10+deb12u1')).toBe('2.1.28+dfsg-10+deb12u1');
    // Another upstream version or Debian revision is a change to review.
    expect(replacementFor('3.0.22-1~deb12u2', '3.0.23-1~deb12u1')).toBeUndefined();
    expect(replacementFor('1.22.1-9+deb12u12', '1.22.1-10')).toBeUndefined();
    expect(replacementFor('1.22.1-9+deb12u12', '1.22.1-9+deb12u12')).toBeUndefined();
    expect(replacementFor('1.22.1-9+deb12u12', undefined)).toBeUndefined();
  });
});
