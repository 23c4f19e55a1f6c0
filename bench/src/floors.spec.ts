import { DecodeFailure } from '@weblog/kafka-common';
import { FLOORS, floorJob, FloorJob, isFloor } from './floor-job';
import { notFloorOutput } from './floors';

/** A transform thread's job as the main thread packs it: the values end to end, -1 for none. */
function job(values: readonly (string | null)[]): FloorJob {
  return {
    id: 7,
    bytes: Buffer.concat(values.filter((v): v is string => v !== null).map((v) => Buffer.from(v, 'utf8'))),
    lengths: Int32Array.from(values.map((v) => (v === null ? -1 : Buffer.byteLength(v, 'utf8')))),
  };
}

function outputs(reply: ReturnType<typeof floorJob>): (string | null)[] {
  const bytes = Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength);
  let at = 0;
  return Array.from(reply.lengths, (length) => {
    if (length < 0) return null;
    at += length;
    return bytes.toString('utf8', at - length, at);
  });
}

const log = '{"ip":"10.0.0.1","url":"/straße?q=\\"x\\"","status_code":200,"referer":null,"user_agent":"curl/8.5.0"}';

describe('floorJob', () => {
  it('one string: each value upper-cased whole, keys and escapes too, as the kafkajs loop does', () => {
    const reply = floorJob('one-string', job([log, 'plain text']));
    expect(reply.id).toBe(7);
    expect(outputs(reply)).toEqual([log.toUpperCase(), 'PLAIN TEXT']);
    expect(reply.failures).toEqual([]);
  });

  it('JSON only: the string values upper-cased, the keys and other values as they were', () => {
    const [out] = outputs(floorJob('json', job([log])));
    expect(JSON.parse(out ?? '')).toEqual({
      ip: '10.0.0.1',
      url: '/STRASSE?Q="X"',
      status_code: 200,
      referer: null,
      user_agent: 'CURL/8.5.0',
    });
  });

  it("refuses a record without a value, as the transformer does, and keeps the others' places", () => {
    const expected = { json: ['{"a":"B"}', null, '{"c":"D"}'], 'one-string': ['{"A":"B"}', null, '{"C":"D"}'] };
    for (const floor of ['json', 'one-string'] as const) {
      const reply = floorJob(floor, job(['{"a":"b"}', null, '{"c":"d"}']));
      expect(outputs(reply)).toEqual(expected[floor]);
      expect(reply.failures).toEqual([{ index: 1, reason: DecodeFailure.emptyValue, detail: expect.any(String) }]);
    }
  });

  it('answers in a buffer of its own, which can be moved to another thread', () => {
    const reply = floorJob('json', job([log]));
    expect(reply.bytes.byteOffset).toBe(0);
    expect(reply.bytes.buffer.byteLength).toBe(reply.bytes.byteLength);
  });
});

describe('notFloorOutput', () => {
  it("picks out a record of the transformer's own job, which a floor's output never holds", () => {
    const floors = [floorJob('json', job([log])), floorJob('one-string', job([log]))].flatMap((reply) => outputs(reply) as string[]);
    expect(notFloorOutput(floors)).toBeUndefined();
    const ours = '{"IP":"10.0.0.1","EVENT_ID":"X","timestamp_utc":"2026-12-07T20:30:14.340Z"}';
    expect(notFloorOutput([...floors, ours])).toBe(ours);
  });
});

describe('isFloor', () => {
  it('takes the floors by name only', () => {
    expect(Object.keys(FLOORS).filter(isFloor)).toEqual(['one-string', 'json']);
    for (const other of [undefined, '', 'none', 'toString', '__proto__']) expect(isFloor(other)).toBe(false);
  });
});
