import { NestFactory } from '@nestjs/core';
import { createServiceLogger, failStart, startService } from '@weblog/kafka-common';
import { AppModule } from './app.module';
import { loadVerifierEnv } from './verifier.env';
import { VERIFIER_TRANSPORT } from './verifier.tokens';

async function bootstrap(): Promise<void> {
  const env = loadVerifierEnv();
  const app = await NestFactory.create(AppModule.register(env), { logger: createServiceLogger('verifier', env.LOG_LEVEL) });
  await startService(app, { port: env.PORT, host: env.HTTP_HOST, transports: [VERIFIER_TRANSPORT] });
}

bootstrap().catch(failStart);
