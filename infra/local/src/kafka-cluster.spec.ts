import { PartitionState, underReplicatedIn } from './kafka-cluster';

const state = (partition: number, isr: number[], topic = 't'): PartitionState => ({
  topic,
  partition,
  leader: isr[0] ?? -1,
  replicas: [1, 2, 3],
  isr,
});

describe('underReplicatedIn', () => {
  it('finds nothing when every node sees every replica in sync', () => {
    expect(
      underReplicatedIn([
        [state(0, [1, 2, 3]), state(1, [2, 3, 1])],
        [state(0, [3, 2, 1]), state(1, [1, 2, 3])],
      ]),
    ).toEqual([]);
  });

  it('reports a partition that one node still sees short of a replica, though another sees it whole', () => {
    // The node whose metadata lags is the one asked second here, and first in the next case.
    const whole = [state(0, [1, 2, 3]), state(1, [1, 2, 3])];
    const lagging = [state(0, [2, 3]), state(1, [1, 2, 3])];
    expect(underReplicatedIn([whole, lagging])).toEqual([state(0, [2, 3])]);
    expect(underReplicatedIn([lagging, whole])).toEqual([state(0, [2, 3])]);
  });

  it('reports each partition once, as the first view that has it short', () => {
    expect(underReplicatedIn([[state(0, [2])], [state(0, [2, 3])]])).toEqual([state(0, [2])]);
  });

  it('keeps topics apart and takes partitions only some views know', () => {
    expect(underReplicatedIn([[state(0, [1, 2, 3], 'a')], [state(0, [1, 2], 'b')]])).toEqual([state(0, [1, 2], 'b')]);
  });

  it('finds nothing in no views', () => {
    expect(underReplicatedIn([])).toEqual([]);
  });
});
