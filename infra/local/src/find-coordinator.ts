import { Socket } from 'node:net';

/** FindCoordinator v2: the oldest version every broker from Kafka 2.0 to 4.x answers, and the newest kafkajs sends. */
const API_KEY = 10;
const API_VERSION = 2;
/** COORDINATOR_LOAD_IN_PROGRESS and COORDINATOR_NOT_AVAILABLE: the group's coordinator is moving. */
const RETRIABLE = new Set([14, 15]);

export type CoordinatorAnswer =
  | { readonly ok: true; readonly nodeId: number; readonly host: string; readonly port: number }
  | { readonly ok: false; readonly errorCode: number; readonly retriable: boolean; readonly message: string };

function kafkaString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The request as it goes on the wire: size, header v1, then the group id as the key of type 0 (group). */
export function encodeFindCoordinator(correlationId: number, clientId: string, groupId: string): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt16BE(API_KEY, 0);
  header.writeInt16BE(API_VERSION, 2);
  header.writeInt32BE(correlationId, 4);
  const body = Buffer.concat([header, kafkaString(clientId), kafkaString(groupId), Buffer.from([0])]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** Decodes a response without its size prefix: correlation id, throttle, error, message, node. */
export function decodeFindCoordinator(response: Buffer, correlationId: number): CoordinatorAnswer {
  let at = 0;
  const int16 = () => ((at += 2), response.readInt16BE(at - 2));
  const int32 = () => ((at += 4), response.readInt32BE(at - 4));
  const string = (): string | null => {
    const length = int16();
    if (length < 0) return null;
    at += length;
    return response.toString('utf8', at - length, at);
  };
  const answered = int32();
  if (answered !== correlationId) throw new Error(`FindCoordinator answered correlation id ${answered}, ${correlationId} sent`);
  int32();
  const errorCode = int16();
  const message = string();
  const nodeId = int32();
  const host = string() ?? '';
  const port = int32();
  if (errorCode !== 0) return { ok: false, errorCode, retriable: RETRIABLE.has(errorCode), message: message ?? `error code ${errorCode}` };
  return { ok: true, nodeId, host, port };
}

/**
 * Asks one broker which node coordinates a consumer group. kafkajs resolves coordinators only
 * inside its clients and does not say which node it found, hence one request of our own.
 */
export function findCoordinator(address: string, groupId: string, timeoutMs = 5000): Promise<CoordinatorAnswer> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator);
  const port = Number(address.slice(separator + 1));
  const correlationId = 1;
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`FindCoordinator to ${address}: no answer within ${timeoutMs} ms`)));
    socket.once('error', fail);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      socket.destroy();
      try {
        resolve(decodeFindCoordinator(received.subarray(4, 4 + size), correlationId));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.connect(port, host, () => socket.write(encodeFindCoordinator(correlationId, 'local-infra-coordinator', groupId)));
  });
}
