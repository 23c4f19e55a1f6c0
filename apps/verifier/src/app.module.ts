import { DynamicModule, Module } from '@nestjs/common';
import { KafkaModule, ObservabilityModule } from '@weblog/kafka-common';
import { VerifierEnv } from './verifier.env';

@Module({})
export class AppModule {
  static register(env: VerifierEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 'verifier', env }), ObservabilityModule.forRoot({ service: 'verifier' })],
    };
  }
}
