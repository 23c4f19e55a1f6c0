import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEBIAN_PACKAGES, debianToolVersions, prepareDebianTools } from './debian-tools';

describe("nginx and kcat from Debian's archive (real apt)", () => {
  it('fetches the update of the same release in place of a pin Debian no longer serves, and says to pin it', async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'weblog-debian-tools-'));
    const lines: string[] = [];
    try {
      // Debian replaced 1.22.1-9+deb12u11 with a security update and serves only the newer one.
      const tools = await prepareDebianTools((line) => lines.push(line), { ...DEBIAN_PACKAGES, nginx: '1.22.1-9+deb12u11' }, cache);
      const fetched = tools.versions['nginx'] ?? '';
      expect(fetched).toMatch(/^1\.22\.1-9\+deb12u\d+$/);
      expect(Number(/u(\d+)$/.exec(fetched)?.[1])).toBeGreaterThan(11);
      expect(lines.some((line) => line.includes(`no longer serves nginx 1.22.1-9+deb12u11; fetching ${fetched}`))).toBe(true);
      expect(debianToolVersions(tools).nginx).toContain('nginx/1.22.1');
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 300000);
});
