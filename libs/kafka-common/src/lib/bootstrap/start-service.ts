import { INestApplication, Logger } from '@nestjs/common';
import { CustomTransportStrategy, MicroserviceOptions } from '@nestjs/microservices';

export interface StartServiceOptions {
  readonly port: number;
  /** The address to bind (HTTP_HOST); undefined binds every interface. */
  readonly host?: string;
  /** Provider tokens of the Kafka transports this service consumes with. */
  readonly transports?: readonly (string | symbol)[];
  /** After SIGTERM, how long draining may take before the process gives up (default 25 s, inside Kubernetes' 30 s). */
  readonly shutdownGraceMs?: number;
}

let stopService: ((exitCode: number) => void) | undefined;

/**
 * Asks the running service to shut down as on SIGTERM (consumers drained, producers flushed),
 * then exit with `exitCode`. Used by one-shot runs and by fatal errors inside a service.
 */
export function requestShutdown(exitCode = 0): void {
  if (stopService) stopService(exitCode);
  else process.exit(exitCode);
}

/**
 * The common start of every service: graceful shutdown on SIGTERM/SIGINT, the Kafka transports,
 * module init (topics exist before anyone subscribes), HTTP.
 *
 * Shutdown runs the same Nest hooks as `enableShutdownHooks()` (consumers drain when the
 * transports close, producers disconnect in `onApplicationShutdown`, after them), but exits 0
 * after a clean drain instead of re-raising the signal, and gives up after a grace period.
 */
export async function startService(app: INestApplication, options: StartServiceOptions): Promise<void> {
  const logger = new Logger('Lifecycle');
  let closing = false;
  stopService = (exitCode: number) => {
    if (closing) return;
    closing = true;
    const grace = options.shutdownGraceMs ?? 25000;
    const deadline = setTimeout(() => {
      logger.error(`shutdown did not finish within ${grace} ms; exiting`);
      process.exit(1);
    }, grace);
    deadline.unref();
    logger.log('shutting down: draining consumers, then flushing producers');
    app.close().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => requestShutdown(0));
  for (const token of options.transports ?? []) {
    app.connectMicroservice<MicroserviceOptions>({ strategy: app.get<CustomTransportStrategy>(token) }, { inheritAppConfig: true });
  }
  await app.init();
  await app.startAllMicroservices();
  if (options.host === undefined) await app.listen(options.port);
  else await app.listen(options.port, options.host);
  logger.log(`listening on ${options.host ?? 'every interface'}, port ${options.port}`);
}

/** A service that cannot start says why in one line and exits non-zero. */
export function failStart(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${JSON.stringify({ level: 'fatal', message: `failed to start: ${message}` })}\n`);
  process.exit(1);
}
