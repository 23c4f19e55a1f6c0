import { NestFactory } from '@nestjs/core';
import { createServiceLogger, failStart, startService } from '@weblog/kafka-common';
import { AppModule } from './app.module';
import { loadArchiverEnv } from './archiver.env';
import { ARCHIVER_TRANSPORT } from './archiver.tokens';

async function bootstrap(): Promise<void> {
  const env = loadArchiverEnv();
  const app = await NestFactory.create(AppModule.register(env), { logger: createServiceLogger('archiver', env.LOG_LEVEL) });
  await startService(app, { port: env.PORT, host: env.HTTP_HOST, transports: [ARCHIVER_TRANSPORT] });
}

bootstrap().catch(failStart);
