/**
 * Checks of a compose model, as `docker compose config` resolves it (long syntax) or as written
 * (short syntax): each returns what is wrong, so a test asserts an empty list and a mutated copy
 * shows the check can fail.
 */

export interface ComposeVolumeLong {
  readonly type?: string;
  readonly source?: string;
  readonly target: string;
  readonly read_only?: boolean;
}

export interface ComposePortLong {
  readonly host_ip?: string;
  readonly published?: string | number;
  readonly target: number | string;
}

export interface ComposeService {
  readonly image?: string;
  readonly build?: unknown;
  readonly command?: string[] | string;
  readonly entrypoint?: string[] | string;
  readonly restart?: string;
  readonly environment?: Record<string, string | null>;
  readonly healthcheck?: { test?: string[] | string; disable?: boolean };
  readonly depends_on?: Record<string, { condition: string }>;
  readonly volumes?: readonly (string | ComposeVolumeLong)[];
  readonly ports?: readonly (string | ComposePortLong)[];
}

export interface Compose {
  readonly services: Record<string, ComposeService>;
  readonly volumes?: Record<string, unknown>;
}

export interface Mount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** A named volume (as opposed to a host path). */
  readonly named: boolean;
}

const isHostPath = (source: string): boolean => /^[./~]/.test(source);

export function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') {
      const source = volume.source ?? '';
      return { source, target: volume.target, readOnly: volume.read_only === true, named: volume.type === 'volume' };
    }
    const [source = '', target = '', mode = ''] = volume.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro'), named: !isHostPath(source) };
  });
}

export interface PublishedPort {
  readonly hostIp: string;
  readonly published: string;
  readonly target: number;
}

export function publishedPorts(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') {
      return { hostIp: port.host_ip ?? '', published: String(port.published ?? ''), target: Number(port.target) };
    }
    const parts = port.replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.pop());
    const published = parts.pop() ?? '';
    return { hostIp: parts.join(':'), published, target };
  });
}

/** Published ports that the host's other interfaces could reach: everything must bind loopback. */
export function portsNotOnLoopback(compose: Compose): string[] {
  return Object.entries(compose.services).flatMap(([name, service]) =>
    publishedPorts(service)
      .filter((port) => port.hostIp !== '127.0.0.1')
      .map((port) => `${name}: ${port.hostIp || '*'}:${port.published || '?'}->${port.target} does not bind 127.0.0.1`),
  );
}

/** `NAME://host:port,...` as a map from listener name to host and port. */
export function listeners(value: string | null | undefined): Map<string, { host: string; port: number }> {
  const result = new Map<string, { host: string; port: number }>();
  for (const entry of (value ?? '').split(',').filter(Boolean)) {
    const match = /^([A-Za-z0-9_-]+):\/\/(.*):(\d+)$/.exec(entry.trim());
    if (match?.[1] && match[3]) result.set(match[1], { host: match[2] ?? '', port: Number(match[3]) });
  }
  return result;
}

/**
 * The broker's data must be where its volume is: otherwise `down` then `up` starts an empty
 * broker (the apache/kafka image defaults log.dirs to /tmp/kraft-combined-logs).
 */
export function kafkaLogDirProblems(compose: Compose, serviceName = 'kafka'): string[] {
  const service = compose.services[serviceName];
  if (!service) return [`no ${serviceName} service`];
  const logDirs = service.environment?.['KAFKA_LOG_DIRS'];
  if (!logDirs) return [`${serviceName}: KAFKA_LOG_DIRS is not set, so the image's default outside any volume applies`];
  const volumeTargets = new Set(
    mounts(service)
      .filter((mount) => mount.named)
      .map((mount) => mount.target.replace(/\/+$/, '')),
  );
  return logDirs
    .split(',')
    .map((dir) => dir.trim().replace(/\/+$/, ''))
    .filter((dir) => !volumeTargets.has(dir))
    .map((dir) => `${serviceName}: log dir ${dir} is not the target of a named volume (${[...volumeTargets].join(', ') || 'none'})`);
}

/**
 * A host listener is usable only if the broker advertises the host's own loopback name and the
 * port the host reaches it on, published on 127.0.0.1 to the port the listener binds.
 */
export function externalListenerProblems(compose: Compose, serviceName = 'kafka', listener = 'EXTERNAL'): string[] {
  const service = compose.services[serviceName];
  if (!service) return [`no ${serviceName} service`];
  const env = service.environment ?? {};
  const bound = listeners(env['KAFKA_LISTENERS']).get(listener);
  const advertised = listeners(env['KAFKA_ADVERTISED_LISTENERS']).get(listener);
  const protocols = (env['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP'] ?? '').split(',').map((pair) => pair.split(':')[0]);
  const problems: string[] = [];
  if (!bound) problems.push(`${serviceName}: KAFKA_LISTENERS has no ${listener} listener`);
  if (!advertised) problems.push(`${serviceName}: KAFKA_ADVERTISED_LISTENERS has no ${listener} listener`);
  if (!protocols.includes(listener)) problems.push(`${serviceName}: KAFKA_LISTENER_SECURITY_PROTOCOL_MAP has no ${listener}`);
  if (!bound || !advertised) return problems;
  if (!['localhost', '127.0.0.1'].includes(advertised.host)) {
    problems.push(`${serviceName}: ${listener} advertises ${advertised.host}, which the host does not resolve to itself`);
  }
  const published = publishedPorts(service).find((port) => port.target === bound.port);
  if (!published) problems.push(`${serviceName}: the ${listener} listener's port ${bound.port} is not published`);
  else if (published.published !== String(advertised.port)) {
    problems.push(
      `${serviceName}: ${listener} advertises port ${advertised.port} but port ${bound.port} is published as ${published.published}`,
    );
  }
  return problems;
}

/** Every service `name` waits for, directly or through what it waits for. */
export function dependencyClosure(compose: Compose, name: string): Set<string> {
  const seen = new Set<string>();
  const pending = Object.keys(compose.services[name]?.depends_on ?? {});
  while (pending.length > 0) {
    const next = pending.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    pending.push(...Object.keys(compose.services[next]?.depends_on ?? {}));
  }
  return seen;
}

/** Monitoring that waits for the pipeline cannot show why the pipeline does not start. */
export function monitoringWaitsFor(compose: Compose, monitoring: readonly string[], pipeline: readonly string[]): string[] {
  return monitoring.flatMap((name) =>
    [...dependencyClosure(compose, name)]
      .filter((dependency) => pipeline.includes(dependency))
      .map((dependency) => `${name} waits for ${dependency}`),
  );
}

const oneShot = (service: ComposeService): boolean => service.restart === 'no';

/** The named volume a path inside a service's container lies on, if any. */
export function volumeHolding(service: ComposeService, file: string): string | undefined {
  const holding = mounts(service)
    .filter((mount) => mount.named && (file === mount.target || file.startsWith(`${mount.target.replace(/\/+$/, '')}/`)))
    .sort((a, b) => b.target.length - a.target.length)[0];
  return holding?.source;
}

/**
 * Long-running services see only their own secrets: the S3 admin's volume is mounted by the S3
 * server alone, and every credentials file a service is pointed at (by AWS_SHARED_CREDENTIALS_FILE
 * or a `*__FILE` / `/credentials/` variable) lies on a volume no other long-running service mounts.
 * One-shot jobs (restart: no) that write or apply the secrets are exempt.
 */
export function credentialProblems(compose: Compose, adminVolume: string, s3Service = 's3'): string[] {
  const longRunning = Object.entries(compose.services).filter(([, service]) => !oneShot(service));
  const mountedBy = (volume: string): string[] =>
    longRunning.filter(([, service]) => mounts(service).some((mount) => mount.named && mount.source === volume)).map(([name]) => name);
  const problems: string[] = [];
  for (const name of mountedBy(adminVolume)) {
    if (name !== s3Service) problems.push(`${name} mounts the S3 admin credentials (${adminVolume})`);
  }
  for (const [name, service] of longRunning) {
    for (const [variable, value] of Object.entries(service.environment ?? {})) {
      const pointsAtSecret =
        variable === 'AWS_SHARED_CREDENTIALS_FILE' || variable.endsWith('__FILE') || value?.startsWith('/credentials/');
      if (!pointsAtSecret || !value) continue;
      const volume = volumeHolding(service, value);
      if (!volume) {
        problems.push(`${name}: ${variable}=${value} is on no named volume`);
        continue;
      }
      for (const other of mountedBy(volume)) {
        if (other !== name) problems.push(`${name}: ${variable} is on ${volume}, which ${other} mounts too`);
      }
    }
  }
  return problems;
}
