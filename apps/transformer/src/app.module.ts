import { DynamicModule, Module } from '@nestjs/common';
import { KafkaModule, ObservabilityModule } from '@weblog/kafka-common';
import { TransformerEnv } from './transformer.env';

@Module({})
export class AppModule {
  static register(env: TransformerEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 'transformer', env }), ObservabilityModule.forRoot({ service: 'transformer' })],
    };
  }
}
