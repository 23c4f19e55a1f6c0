import { NestFactory } from '@nestjs/core';
import { createServiceLogger, failStart, startService } from '@weblog/kafka-common';
import { AppModule } from './app.module';
import { loadVerifierEnv } from './verifier.env';

async function bootstrap(): Promise<void> {
  const env = loadVerifierEnv();
  const app = await NestFactory.create(AppModule.register(env), { logger: createServiceLogger('verifier', env.LOG_LEVEL) });
  await startService(app, { port: env.PORT });
}

bootstrap().catch(failStart);
