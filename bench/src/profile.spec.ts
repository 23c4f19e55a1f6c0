import { CpuProfile, summarizeProfile } from './profile';

describe('summarizeProfile', () => {
  const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 9 });
  // Four seconds sampled every 250 ms, each sample counted at its end: work first, then garbage collection and idle.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('(garbage collector)') },
      { id: 4, callFrame: frame('transform', 'file:///app/dist/transform.js') },
      { id: 5, callFrame: frame('', 'file:///app/dist/codec.js') },
    ],
    samples: [4, 4, 5, 4, 4, 4, 5, 4, 3, 2, 3, 2, 3, 2, 3, 2],
    timeDeltas: Array.from({ length: 16 }, () => 250_000),
  };

  it('gives each span its GC and idle shares and its busiest functions', () => {
    const [early, late] = summarizeProfile(profile, 2, 2);
    expect(early).toEqual({
      fromSeconds: 0,
      toSeconds: 2,
      gcPercent: 0,
      idlePercent: 0,
      top: [
        { frame: 'transform transform.js:10', percent: 71.4 },
        { frame: '(anonymous) codec.js:10', percent: 28.6 },
      ],
    });
    expect(late).toMatchObject({ fromSeconds: 2, toSeconds: 4, gcPercent: 44.4, idlePercent: 44.4 });
  });
});
