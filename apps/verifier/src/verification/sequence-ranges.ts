/**
 * The set of sequence numbers seen, kept as sorted disjoint ranges: a run of a million records
 * with no gaps is one range, so memory follows the number of gaps, not the number of records.
 */
export class SequenceRanges {
  /** Sorted, disjoint, non-adjacent [start, end] pairs. */
  private readonly ranges: [number, number][] = [];
  private count = 0;

  /** Adds a sequence; false when it was already there (a duplicate). */
  add(seq: number): boolean {
    const i = this.firstEndingAtOrAfter(seq - 1);
    const here = this.ranges[i];
    if (here && here[0] <= seq && seq <= here[1]) return false;
    this.count++;
    const joinsHere = here !== undefined && here[0] === seq + 1;
    const joinsBefore = here !== undefined && here[1] === seq - 1;
    if (joinsBefore) {
      here[1] = seq;
      const next = this.ranges[i + 1];
      if (next && next[0] === seq + 1) {
        here[1] = next[1];
        this.ranges.splice(i + 1, 1);
      }
    } else if (joinsHere) {
      here[0] = seq;
    } else {
      this.ranges.splice(i, 0, [seq, seq]);
    }
    return true;
  }

  /** True when the sequence was seen. */
  has(seq: number): boolean {
    const here = this.ranges[this.firstEndingAtOrAfter(seq)];
    return here !== undefined && here[0] <= seq && seq <= here[1];
  }

  /** Distinct sequences seen. */
  get size(): number {
    return this.count;
  }

  get highest(): number {
    return this.ranges[this.ranges.length - 1]?.[1] ?? 0;
  }

  /** Sequences from 1 to the highest seen that were never seen. */
  missingCount(): number {
    return this.highest - this.count;
  }

  /** The first `limit` gaps as [first missing, last missing]. */
  gaps(limit = 20): [number, number][] {
    const gaps: [number, number][] = [];
    let expected = 1;
    for (const [start, end] of this.ranges) {
      if (gaps.length >= limit) break;
      if (start > expected) gaps.push([expected, start - 1]);
      expected = end + 1;
    }
    return gaps;
  }

  get rangeCount(): number {
    return this.ranges.length;
  }

  /** Index of the first range whose end is >= value (binary search). */
  private firstEndingAtOrAfter(value: number): number {
    let low = 0;
    let high = this.ranges.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.ranges[mid][1] < value) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
