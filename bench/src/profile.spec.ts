import { CpuProfile, stackShares, summarizeProfile } from './profile';

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

describe('stackShares', () => {
  const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });
  // A request's signing under our upload, a record's decoding under the fetch loop, GC and idle.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 6, 7] },
      { id: 2, callFrame: frame('upload', 'file:///app/dist/archive.js'), children: [4] },
      { id: 3, callFrame: frame('eachBatch', 'file:///app/node_modules/kafkajs/src/consumer/runner.js'), children: [5] },
      { id: 4, callFrame: frame('sign', 'file:///app/node_modules/@smithy/signature-v4/dist-cjs/index.js') },
      { id: 5, callFrame: frame('decode', 'file:///app/dist/codec.js') },
      { id: 6, callFrame: frame('(garbage collector)') },
      { id: 7, callFrame: frame('(idle)') },
    ],
    samples: [4, 4, 4, 5, 2, 6, 7, 7],
    timeDeltas: Array.from({ length: 8 }, () => 1000),
  };

  it('counts each busy sample for the first group its stack reaches, in the order given', () => {
    expect(stackShares(profile, { 'S3 client': /@smithy|@aws-sdk/, kafkajs: /kafkajs/ })).toEqual({
      'S3 client': 50,
      kafkajs: 16.7,
      other: 16.7,
      'garbage collection': 16.7,
    });
    // Decoding is below the kafkajs frame, so a group named before kafkajs takes it.
    expect(stackShares(profile, { records: /codec/, kafkajs: /kafkajs/ })).toEqual({
      other: 66.7,
      records: 16.7,
      'garbage collection': 16.7,
    });
  });
});
