import net from 'node:net';
import tls from 'node:tls';
import { ISocketFactory } from 'kafkajs';

/** kafkajs's own keep-alive delay. */
const KEEP_ALIVE_MS = 60000;

/**
 * kafkajs's sockets with Nagle's algorithm off (TCP_NODELAY). kafkajs leaves it on, so a small
 * produce request or commit may sit in the kernel until the previous segment is acknowledged,
 * which the broker may delay: latency of a few records, not throughput, is what it costs.
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, KEEP_ALIVE_MS);
  socket.setNoDelay(true);
  return socket;
};
