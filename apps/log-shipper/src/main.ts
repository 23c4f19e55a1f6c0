import { NestFactory } from '@nestjs/core';
import { createServiceLogger, failStart, startService } from '@weblog/kafka-common';
import { AppModule } from './app.module';
import { loadShipperEnv } from './shipper.env';

async function bootstrap(): Promise<void> {
  const env = loadShipperEnv();
  const app = await NestFactory.create(AppModule.register(env), { logger: createServiceLogger('log-shipper', env.LOG_LEVEL) });
  await startService(app, { port: env.PORT, host: env.HTTP_HOST });
}

bootstrap().catch(failStart);
