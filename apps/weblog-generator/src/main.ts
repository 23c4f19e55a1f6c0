import { NestFactory } from '@nestjs/core';
import { createServiceLogger, failStart, startService } from '@weblog/kafka-common';
import { AppModule } from './app.module';
import { loadGeneratorEnv } from './generator.env';

async function bootstrap(): Promise<void> {
  const env = loadGeneratorEnv();
  const app = await NestFactory.create(AppModule.register(env), { logger: createServiceLogger('generator', env.LOG_LEVEL) });
  await startService(app, { port: env.PORT, host: env.HTTP_HOST });
}

bootstrap().catch(failStart);
