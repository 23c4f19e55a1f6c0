import { NestFactory } from '@nestjs/core';
import { createServiceLogger, failStart, startService } from '@weblog/kafka-common';
import { AppModule } from './app.module';
import { loadTransformerEnv } from './transformer.env';
import { TRANSFORMER_TRANSPORT } from './transformer.tokens';

async function bootstrap(): Promise<void> {
  const env = loadTransformerEnv();
  const app = await NestFactory.create(AppModule.register(env), { logger: createServiceLogger('transformer', env.LOG_LEVEL) });
  await startService(app, { port: env.PORT, host: env.HTTP_HOST, transports: [TRANSFORMER_TRANSPORT] });
}

bootstrap().catch(failStart);
