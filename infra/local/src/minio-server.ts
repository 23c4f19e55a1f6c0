import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { orphanGuard } from './guard';
import { MinioArtifacts } from './prepare';
import { describeTails } from './processes';
import { ServerProcess, startUntilHealthy } from './supervisor';
import { PID_SUFFIX } from './run-dir';
import { envTimeout, Log } from './settings';

const STOP_GRACE_MS = 10000;

export interface MinioCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A single-drive MinIO server, restartable on the same port, data and credentials. */
export class MinioServer {
  private readonly server: ServerProcess;
  private readonly outputFile: string;
  readonly credentials: MinioCredentials;

  private constructor(
    home: string,
    readonly port: number,
    consolePort: number,
    artifacts: MinioArtifacts,
    private readonly log: Log,
  ) {
    this.outputFile = path.join(home, 'stdout.log');
    const dataDir = path.join(home, 'data');
    // Fresh per launch and never written anywhere but the server's environment and the caller's memory.
    this.credentials = {
      accessKeyId: `weblog${randomBytes(6).toString('hex')}`,
      secretAccessKey: randomBytes(24).toString('base64url'),
    };
    const env: NodeJS.ProcessEnv = {};
    // MinIO reads dozens of MINIO_* variables; inheriting a stray one would make runs differ by machine.
    for (const [key, value] of Object.entries(process.env)) {
      if (!key.startsWith('MINIO_')) env[key] = value;
    }
    Object.assign(env, {
      MINIO_ROOT_USER: this.credentials.accessKeyId,
      MINIO_ROOT_PASSWORD: this.credentials.secretAccessKey,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      MINIO_CI_CD: '1',
    });
    this.server = new ServerProcess(
      {
        name: 'minio',
        command: artifacts.binary,
        args: ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
        env,
        cwd: home,
        outputFile: this.outputFile,
        pidFile: path.join(path.dirname(home), `minio${PID_SUFFIX}`),
        match: dataDir,
      },
      orphanGuard,
    );
  }

  static create(artifacts: MinioArtifacts, runDir: string, ports: [number, number], log: Log): MinioServer {
    const home = path.join(runDir, 'minio');
    rmSync(home, { recursive: true, force: true });
    mkdirSync(path.join(home, 'data'), { recursive: true });
    const [port, consolePort] = ports;
    return new MinioServer(home, port, consolePort, artifacts, log);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  async start(): Promise<void> {
    if (this.server.running) return;
    const started = Date.now();
    const health = await startUntilHealthy(this.server, this.port, '/minio/health/ready', envTimeout('WEBLOG_S3_START_TIMEOUT_MS', 60000));
    if (!health.ready) return this.failStart(health.reason);
    this.log(`MinIO ready on ${this.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${this.server.pid})`);
  }

  private async failStart(reason: string): Promise<never> {
    await this.server.stop(5000);
    throw new Error(`MinIO failed to start: ${reason}${describeTails([this.outputFile])}`);
  }

  async stop(): Promise<void> {
    if (!this.server.running) return;
    await this.server.stop(STOP_GRACE_MS);
    this.log('MinIO stopped');
  }
}
