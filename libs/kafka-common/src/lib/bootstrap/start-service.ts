import { INestApplication, Logger } from '@nestjs/common';
import { CustomTransportStrategy, MicroserviceOptions } from '@nestjs/microservices';

export interface StartServiceOptions {
  readonly port: number;
  /** Provider tokens of the Kafka transports this service consumes with. */
  readonly transports?: readonly (string | symbol)[];
}

/**
 * The common start of every service: shutdown hooks (SIGTERM drains consumers, then closes
 * producers), the Kafka transports, module init (topics exist before anyone subscribes), HTTP.
 */
export async function startService(app: INestApplication, options: StartServiceOptions): Promise<void> {
  app.enableShutdownHooks();
  for (const token of options.transports ?? []) {
    app.connectMicroservice<MicroserviceOptions>({ strategy: app.get<CustomTransportStrategy>(token) }, { inheritAppConfig: true });
  }
  await app.init();
  await app.startAllMicroservices();
  await app.listen(options.port);
  new Logger('Bootstrap').log(`listening on port ${options.port}`);
}

/** A service that cannot start says why in one line and exits non-zero. */
export function failStart(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${JSON.stringify({ level: 'fatal', message: `failed to start: ${message}` })}\n`);
  process.exit(1);
}
