import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { orphanGuard } from './guard';
import { MinioArtifacts } from './prepare';
import { delay, describeTails, ServerProcess } from './processes';
import { PID_SUFFIX } from './run-dir';
import { envTimeout, Log } from './settings';

const STOP_GRACE_MS = 10000;

/** One GET of MinIO's readiness endpoint: 200 once it can serve S3 requests. */
function healthStatus(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/minio/health/ready', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 'no status');
    });
    request.once('timeout', () => request.destroy(new Error('timed out')));
    request.once('error', (error) => resolve(error.message));
  });
}

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
    this.server.start();
    const timeoutMs = envTimeout('WEBLOG_S3_START_TIMEOUT_MS', 60000);
    let exitedEarly: string | undefined;
    void this.server.exited.then((status) => {
      exitedEarly = `exited with ${status.signal ?? `code ${status.code}`}`;
    });
    const deadline = Date.now() + timeoutMs;
    let last: number | string = 'no attempt made';
    for (;;) {
      if (exitedEarly) return this.failStart(`the server ${exitedEarly} before becoming ready`);
      last = await healthStatus(this.port);
      if (last === 200) break;
      if (Date.now() > deadline) return this.failStart(`not ready within ${timeoutMs} ms (last health answer: ${last})`);
      await delay(100);
    }
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
