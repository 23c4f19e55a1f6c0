// A TCP relay in front of the local S3 server that holds each of the server's replies back by a
// fixed time, so a run on loopback sees every request take as long as it would to an S3 endpoint
// some milliseconds away. Requests go through at once; what comes back keeps its order.
import { AddressInfo, createServer, Socket, connect } from 'node:net';

export interface DistantS3 {
  /** The endpoint to give clients instead of the server's own. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function distantS3(endpoint: string, replyDelayMs: number): Promise<DistantS3> {
  const target = new URL(endpoint);
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    }
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.pipe(upstream);
    // Timers of one duration fire in the order they were set, so the reply's bytes stay in order.
    upstream.on('data', (chunk: Buffer) => setTimeout(() => client.write(chunk), replyDelayMs));
    upstream.on('end', () => setTimeout(() => client.end(), replyDelayMs));
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
