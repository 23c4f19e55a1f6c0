import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Log = (line: string) => void;

export const defaultLog: Log = (line) => {
  process.stderr.write(`[local-infra] ${line}\n`);
};

/**
 * The only MinIO source the Go module proxy serves: the last community commit, after
 * RELEASE.2025-10-15T17-29-55Z. Pinned here rather than read from the environment so
 * every machine runs the same server.
 */
export const MINIO_MODULE = 'github.com/minio/minio';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

/** Kept outside the checkout: jars and the MinIO binary are large and shared by every clone. */
export function cacheRoot(environment: NodeJS.ProcessEnv = process.env): string {
  const explicit = environment['WEBLOG_CACHE_DIR'];
  if (explicit) return path.resolve(explicit);
  const xdg = environment['XDG_CACHE_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'weblog-pipeline');
}

export function runsRoot(): string {
  return path.join(cacheRoot(), 'runs');
}

export function keepRunDirs(): boolean {
  return process.env['WEBLOG_KEEP_RUN_DIR'] === '1';
}

/**
 * The Kafka resources (pom.xml, log4j2.properties) sit next to src/ in the package. Searching
 * upwards keeps this working whether the code runs from src/ under Jest or from a compiled dist/.
 */
export function kafkaResourceDir(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 4; depth += 1) {
    const candidate = path.join(dir, 'kafka');
    if (existsSync(path.join(candidate, 'pom.xml'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`kafka/pom.xml not found above ${__dirname}: the local-infra package is incomplete`);
}

/** The pom's own default, so the version is written down in exactly one place. */
export function kafkaVersion(): string {
  const override = process.env['WEBLOG_KAFKA_VERSION'];
  if (override) return override;
  const pom = readFileSync(path.join(kafkaResourceDir(), 'pom.xml'), 'utf8');
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!match?.[1]) throw new Error('kafka/pom.xml declares no <kafka.version> property');
  return match[1].trim();
}

export function envTimeout(name: string, fallbackMs: number): number {
  const raw = process.env[name];
  const parsed = raw ? Number(raw) : NaN;
  return Number.isFinite(parsed) && parsed > 0 ? parsed : fallbackMs;
}

/** Tools for checking docker-compose.yaml, k8s/ and the Prometheus files, pinned here. */
export const KUSTOMIZE_MODULE = 'sigs.k8s.io/kustomize/kustomize/v5';
export const KUSTOMIZE_VERSION = 'v5.8.1';
/** The Kubernetes release whose schemas k8s/ must satisfy. */
export const KUBERNETES_VERSION = '1.34';
/** CRDs come from the operators' own sources on the Go module proxy. */
export const KEDA_MODULE = 'github.com/kedacore/keda/v2';
export const KEDA_VERSION = 'v2.21.0';
export const KEDA_CRDS = ['config/crd/bases/keda.sh_scaledobjects.yaml', 'config/crd/bases/keda.sh_triggerauthentications.yaml'];
export const PROMETHEUS_OPERATOR_MODULE = 'github.com/prometheus-operator/prometheus-operator';
export const PROMETHEUS_OPERATOR_VERSION = 'v0.85.0';
export const PROMETHEUS_OPERATOR_CRDS = [
  'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml',
  'example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml',
  'example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml',
];

/**
 * Prometheus and promtool, built from Prometheus's own Go module, whose versions are v0.3XX.Y
 * for release 3.XX.Y. docker-compose.yaml runs the same release; a unit test holds them together.
 */
export const PROMETHEUS_MODULE = 'github.com/prometheus/prometheus';
export const PROMETHEUS_VERSION = 'v0.316.0';
/** What that version's go.mod asks for. */
export const PROMETHEUS_GO = '1.26.7';

/** The Prometheus release (v3.16.0) that a Go module version of Prometheus (v0.316.0) is. */
export function prometheusRelease(moduleVersion: string = PROMETHEUS_VERSION): string {
  const match = /^v0\.(\d+)(\d\d)\.(\d+)$/.exec(moduleVersion);
  if (!match) throw new Error(`${moduleVersion} is not a Prometheus module version (v0.3XX.Y)`);
  const [, major, minor, patch] = match;
  return `v${Number(major)}.${Number(minor)}.${Number(patch)}`;
}

/** The deploy-check resources (requirements.txt, the Strimzi pom, the validator) beside the Kafka ones. */
export function deployResourceDir(): string {
  return path.join(path.dirname(kafkaResourceDir()), 'deploy');
}
