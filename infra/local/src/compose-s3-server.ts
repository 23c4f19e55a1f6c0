import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { orphanGuard } from './guard';
import { cachedArtifact, goInstall } from './prepare';
import { describeTails } from './processes';
import { ServerProcess, startUntilHealthy } from './supervisor';
import { PID_SUFFIX } from './run-dir';
import { runTool } from './run-tool';
import { cacheRoot, defaultLog, envTimeout, Log } from './settings';
import { requireGo } from './toolchain';

/**
 * The S3 server docker-compose.yaml runs (Versity S3 Gateway), built here from the same release
 * tag: the project publishes its Go module and its `versity/versitygw` image from one tag.
 */
export const VERSITYGW_MODULE = 'github.com/versity/versitygw';
export const VERSITYGW_VERSION = 'v1.8.0';
export const VERSITYGW_IMAGE = `versity/versitygw:${VERSITYGW_VERSION}`;

export interface VersitygwArtifacts {
  readonly version: string;
  readonly binary: string;
}

/** Builds the gateway from the Go module proxy once per pinned version. */
export async function prepareComposeS3Server(log: Log = defaultLog): Promise<VersitygwArtifacts> {
  const source = `${VERSITYGW_MODULE}/cmd/versitygw@${VERSITYGW_VERSION}`;
  const bin = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `versitygw-${VERSITYGW_VERSION}`),
      source,
      output: 'bin',
      what: `versitygw ${VERSITYGW_VERSION}`,
      announce: `building versitygw ${VERSITYGW_VERSION} with go install (first run only, takes minutes)`,
      requirements: () => requireGo(),
      build: goInstall(source),
    },
    log,
  );
  return { version: VERSITYGW_VERSION, binary: path.join(bin, 'versitygw') };
}

/** Listen addresses in the compose environment (`:7070`); here they become free loopback ports. */
const LISTEN_VARIABLES = ['VGW_PORT', 'VGW_ADMIN_PORT'] as const;
/** Container paths in the compose environment; here they live under the server's own directory. */
const PATH_VARIABLES = ['VGW_BACKEND_ARG', 'VGW_IAM_DIR'] as const;

export interface S3Identity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The parent's environment without the gateway's variables: a stray inherited one would make runs differ by machine. */
function baseEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VGW_|ROOT_|ADMIN_)/.test(key)) env[key] = value;
  }
  return env;
}

/**
 * The gateway configured by the environment docker-compose.yaml gives its `s3` service, with
 * listen addresses moved to loopback ports and container paths into a directory of its own.
 * The root identity is fresh per launch and lives only in the server's environment and here.
 */
export class ComposeS3Server {
  private readonly server: ServerProcess;
  private readonly outputFile: string;
  readonly root: S3Identity;
  readonly port: number;
  readonly adminPort: number;
  private readonly healthPath: string;

  private constructor(
    private readonly home: string,
    private readonly artifacts: VersitygwArtifacts,
    composeEnvironment: Readonly<Record<string, string>>,
    ports: readonly [number, number],
    private readonly log: Log,
  ) {
    [this.port, this.adminPort] = ports;
    this.outputFile = path.join(home, 'stdout.log');
    this.root = { accessKeyId: `root${randomBytes(6).toString('hex')}`, secretAccessKey: randomBytes(24).toString('base64url') };
    const local: Record<string, string> = { ...composeEnvironment };
    const [s3Listen, adminListen] = LISTEN_VARIABLES;
    local[s3Listen] = `127.0.0.1:${this.port}`;
    local[adminListen] = `127.0.0.1:${this.adminPort}`;
    for (const variable of PATH_VARIABLES) {
      const containerPath = composeEnvironment[variable];
      if (!containerPath) throw new Error(`the compose s3 service sets no ${variable}`);
      local[variable] = path.join(home, containerPath);
      mkdirSync(local[variable], { recursive: true });
    }
    const backend = local['VGW_BACKEND'];
    if (!backend) throw new Error('the compose s3 service sets no VGW_BACKEND');
    this.healthPath = local['VGW_HEALTH'] ?? '';
    if (!this.healthPath) throw new Error('the compose s3 service sets no VGW_HEALTH');
    const env = baseEnvironment();
    Object.assign(env, local, { ROOT_ACCESS_KEY_ID: this.root.accessKeyId, ROOT_SECRET_ACCESS_KEY: this.root.secretAccessKey });
    // The image's entrypoint runs `versitygw $VGW_ARGS $VGW_BACKEND $VGW_BACKEND_ARG $VGW_BACKEND_ARGS`.
    const args = [...(local['VGW_ARGS']?.split(/\s+/).filter(Boolean) ?? []), backend, local['VGW_BACKEND_ARG'] ?? ''];
    args.push(...(local['VGW_BACKEND_ARGS']?.split(/\s+/).filter(Boolean) ?? []));
    this.server = new ServerProcess(
      {
        name: 'versitygw',
        command: artifacts.binary,
        args,
        env,
        cwd: home,
        outputFile: this.outputFile,
        pidFile: path.join(path.dirname(home), `versitygw${PID_SUFFIX}`),
        match: home,
      },
      orphanGuard,
    );
  }

  /** `composeEnvironment` is the `environment` of the compose file's `s3` service. */
  static create(
    artifacts: VersitygwArtifacts,
    runDir: string,
    composeEnvironment: Readonly<Record<string, string>>,
    ports: readonly [number, number],
    log: Log = defaultLog,
  ): ComposeS3Server {
    const home = path.join(runDir, 'versitygw');
    mkdirSync(home, { recursive: true });
    return new ComposeS3Server(home, artifacts, composeEnvironment, ports, log);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server.running) return;
    const started = Date.now();
    const health = await startUntilHealthy(this.server, this.port, this.healthPath, envTimeout('WEBLOG_S3_START_TIMEOUT_MS', 60000));
    if (!health.ready) return this.failStart(health.reason);
    this.log(`versitygw ready on ${this.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${this.server.pid})`);
  }

  /**
   * `versitygw admin ARGS` against this server's admin port, signed by its root identity: what the
   * compose `s3-users` job runs, through the same variables.
   */
  async admin(args: readonly string[]): Promise<void> {
    const env = baseEnvironment();
    Object.assign(env, {
      ADMIN_ACCESS_KEY_ID: this.root.accessKeyId,
      ADMIN_SECRET_ACCESS_KEY: this.root.secretAccessKey,
      ADMIN_ENDPOINT_URL: `http://127.0.0.1:${this.adminPort}`,
    });
    await runTool(this.artifacts.binary, ['admin', ...args], {
      env,
      cwd: this.home,
      logFile: path.join(this.home, 'admin.log'),
      match: this.artifacts.binary,
    });
  }

  private async failStart(reason: string): Promise<never> {
    await this.server.stop(5000);
    throw new Error(`versitygw failed to start: ${reason}${describeTails([this.outputFile])}`);
  }

  async stop(): Promise<void> {
    if (!this.server.running) return;
    await this.server.stop(10000);
    this.log('versitygw stopped');
  }
}
