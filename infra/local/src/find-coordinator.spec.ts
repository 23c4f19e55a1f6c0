import { decodeFindCoordinator, encodeFindCoordinator } from './find-coordinator';

/** A FindCoordinator v2 response body as a broker sends it, without the size prefix. */
function response(correlationId: number, errorCode: number, message: string | null, nodeId: number, host: string, port: number): Buffer {
  const parts: Buffer[] = [];
  const int16 = (n: number) => parts.push(Buffer.from([(n >> 8) & 0xff, n & 0xff]));
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    parts.push(b);
  };
  const str = (s: string | null) => {
    if (s === null) {
      int16(-1);
      return;
    }
    int16(Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  int32(correlationId);
  int32(0);
  int16(errorCode);
  str(message);
  int32(nodeId);
  str(host);
  int32(port);
  return Buffer.concat(parts);
}

describe('FindCoordinator', () => {
  it('encodes api key 10 version 2 with the size prefix, the client id and the group as a key of type group', () => {
    const wire = encodeFindCoordinator(7, 'c', 'g1');
    expect(wire.readInt32BE(0)).toBe(wire.length - 4);
    expect([wire.readInt16BE(4), wire.readInt16BE(6), wire.readInt32BE(8)]).toEqual([10, 2, 7]);
    expect(wire.subarray(12).toString('hex')).toBe(`0001${Buffer.from('c').toString('hex')}0002${Buffer.from('g1').toString('hex')}00`);
  });

  it('reads the coordinator node from an answer', () => {
    expect(decodeFindCoordinator(response(7, 0, null, 3, '127.0.0.1', 9092), 7)).toEqual({
      ok: true,
      nodeId: 3,
      host: '127.0.0.1',
      port: 9092,
    });
  });

  it('says a coordinator that is moving is worth asking again, and an authorisation failure is not', () => {
    expect(decodeFindCoordinator(response(7, 15, 'not available', -1, '', -1), 7)).toMatchObject({
      ok: false,
      errorCode: 15,
      retriable: true,
    });
    expect(decodeFindCoordinator(response(7, 30, null, -1, '', -1), 7)).toMatchObject({ ok: false, errorCode: 30, retriable: false });
  });

  it('refuses an answer to another request', () => {
    expect(() => decodeFindCoordinator(response(8, 0, null, 1, 'h', 1), 7)).toThrow('correlation id 8, 7 sent');
  });
});
