import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GO_BUILD_ENV } from './prepare';
import { PROMETHEUS_GO } from './settings';
import { compareVersions, GO_TOOLCHAIN, requireGo } from './toolchain';

const checkersGoMod = readFileSync(path.join(__dirname, '..', 'deploy', 'checkers', 'go.mod'), 'utf8');

describe('the pinned Go toolchain', () => {
  it('is what every Go build runs, exactly, whatever Go the machine has', () => {
    expect(GO_BUILD_ENV.GOTOOLCHAIN).toBe(`go${GO_TOOLCHAIN}`);
  });

  it("covers the go line of every module the project builds (our checkers', Prometheus's)", () => {
    const checkers = /^go (\S+)$/m.exec(checkersGoMod)?.[1] ?? '';
    expect(checkers).toMatch(/^\d+\.\d+/);
    for (const needed of [checkers, PROMETHEUS_GO, '1.24']) {
      expect({ needed, covered: compareVersions(GO_TOOLCHAIN, needed) >= 0 }).toEqual({ needed, covered: true });
    }
  });

  it('refuses a module that asks for a Go newer than the pin, naming the setting to raise', () => {
    expect(() => requireGo('99.0')).toThrow(/older than the 99\.0 a module asks for: raise GO_TOOLCHAIN/);
  });
});
