import { SequenceRanges } from './sequence-ranges';

describe('SequenceRanges', () => {
  it('merges consecutive sequences into one range whatever the arrival order', () => {
    const ranges = new SequenceRanges();
    for (const seq of [3, 1, 2, 5, 4, 7, 6]) expect(ranges.add(seq)).toBe(true);
    expect(ranges.rangeCount).toBe(1);
    expect(ranges.size).toBe(7);
    expect(ranges.missingCount()).toBe(0);
  });

  it('reports duplicates and leaves the count alone', () => {
    const ranges = new SequenceRanges();
    ranges.add(1);
    ranges.add(2);
    expect(ranges.add(2)).toBe(false);
    expect(ranges.add(1)).toBe(false);
    expect(ranges.size).toBe(2);
  });

  it('finds gaps up to the highest sequence seen', () => {
    const ranges = new SequenceRanges();
    for (const seq of [1, 2, 5, 6, 10]) ranges.add(seq);
    expect(ranges.highest).toBe(10);
    expect(ranges.missingCount()).toBe(5);
    expect(ranges.gaps()).toEqual([
      [3, 4],
      [7, 9],
    ]);
  });

  it('keeps one range for a million ordered sequences', () => {
    const ranges = new SequenceRanges();
    for (let seq = 1; seq <= 1_000_000; seq++) ranges.add(seq);
    expect(ranges.rangeCount).toBe(1);
    expect(ranges.missingCount()).toBe(0);
  });

  it('agrees with a plain set on a shuffled run with holes and repeats', () => {
    const ranges = new SequenceRanges();
    const truth = new Set<number>();
    let state = 12345;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20000; i++) {
      const seq = 1 + Math.floor(random() * 5000);
      expect(ranges.add(seq)).toBe(!truth.has(seq));
      truth.add(seq);
    }
    const highest = Math.max(...truth);
    expect(ranges.size).toBe(truth.size);
    expect(ranges.missingCount()).toBe(highest - truth.size);
  });

  it('says whether a sequence was seen, inside and between ranges', () => {
    const ranges = new SequenceRanges();
    for (const seq of [1, 2, 3, 7, 9, 10]) ranges.add(seq);
    expect([0, 1, 3, 4, 6, 7, 8, 9, 10, 11].map((seq) => ranges.has(seq))).toEqual([
      false,
      true,
      true,
      false,
      false,
      true,
      false,
      true,
      true,
      false,
    ]);
  });
});
