import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface IgnoringS3Server {
  readonly endpoint: string;
  /** PutObject requests received, whatever their headers. */
  readonly puts: number;
  readonly objects: ReadonlyMap<string, Buffer>;
  close(): Promise<void>;
}

/**
 * The smallest S3 server that stores what it is given and ignores `If-None-Match`, as some
 * S3-compatible stores do: every PUT overwrites. It answers HeadBucket, Put/Get/Head/DeleteObject
 * and an empty-or-matching ListObjectsV2, with path-style addressing and no authentication.
 */
export async function ignoringS3Server(): Promise<IgnoringS3Server> {
  const objects = new Map<string, Buffer>();
  let puts = 0;
  const handle = (request: IncomingMessage, response: ServerResponse, body: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    if (key.length === 0) {
      if (request.method === 'GET' && url.searchParams.get('list-type') === '2') {
        const prefix = url.searchParams.get('prefix') ?? '';
        const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
        const contents = keys.map((k) => `<Contents><Key>${k}</Key><Size>${objects.get(k)?.length ?? 0}</Size></Contents>`).join('');
        response.writeHead(200, { 'content-type': 'application/xml' });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
        );
        return;
      }
      response.writeHead(200).end();
      return;
    }
    const stored = objects.get(key);
    switch (request.method) {
      case 'PUT':
        puts++;
        objects.set(key, body);
        response.writeHead(200, { etag: `"${puts}"` }).end();
        return;
      case 'DELETE':
        objects.delete(key);
        response.writeHead(204).end();
        return;
      case 'GET':
      case 'HEAD':
        if (!stored) {
          response.writeHead(404, { 'content-type': 'application/xml' });
          response.end(request.method === 'GET' ? '<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>' : undefined);
          return;
        }
        response.writeHead(200, { 'content-length': String(stored.length), etag: '"1"' });
        response.end(request.method === 'GET' ? stored : undefined);
        return;
      default:
        response.writeHead(501).end();
    }
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, response, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get puts() {
      return puts;
    },
    objects,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
