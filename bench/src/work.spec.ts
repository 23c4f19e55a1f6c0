import { parseWorkRound } from './work-job';
import { WorkResult, workTable } from './work';

const result = (builds: WorkResult['builds']): WorkResult => ({ recordsPerJob: 3000, secondsPerRound: 4, builds });

describe('the work benchmark', () => {
  it("reads a round's figures from its last line, and refuses a round that printed none", () => {
    expect(parseWorkRound('warming\n{"records":30000,"cpuSeconds":0.15,"wallSeconds":0.151}\n')).toEqual({
      records: 30000,
      cpuSeconds: 0.15,
      wallSeconds: 0.151,
    });
    expect(() => parseWorkRound('{"records":0,"cpuSeconds":0,"wallSeconds":4}')).toThrow(/printed no figures/);
    expect(() => parseWorkRound('{"records":3000}')).toThrow(/printed no figures/);
  });

  it('gives each build its median and rounds, and this checkout against the other in records per CPU-second', () => {
    const text = workTable(
      result([
        {
          build: 'this checkout',
          medianCpuMicros: 4.5,
          rounds: [
            { records: 1e6, cpuSeconds: 4.5, wallSeconds: 4 },
            { records: 1e6, cpuSeconds: 4.8, wallSeconds: 4 },
          ],
        },
        {
          build: 'commit c8a6b61',
          medianCpuMicros: 5.4,
          rounds: [
            { records: 1e6, cpuSeconds: 5.4, wallSeconds: 4 },
            { records: 1e6, cpuSeconds: 4.8, wallSeconds: 4 },
          ],
        },
      ]),
    );
    expect(text).toContain('| this checkout | 4.5 | 4.5, 4.8 |');
    expect(text).toContain('| commit c8a6b61 | 5.4 | 5.4, 4.8 |');
    expect(text).toContain('this checkout against commit c8a6b61: 1.20x by the medians; each round 1.20x, 1.00x.');
  });

  it('gives one build its figures with no comparison', () => {
    const text = workTable(
      result([{ build: 'this checkout', medianCpuMicros: 4.5, rounds: [{ records: 1e6, cpuSeconds: 4.5, wallSeconds: 4 }] }]),
    );
    expect(text).toContain('| this checkout | 4.5 | 4.5 |');
    expect(text).not.toContain('against');
  });
});
