import { DynamicModule, Module } from '@nestjs/common';
import { KafkaModule, ObservabilityModule } from '@weblog/kafka-common';
import { GeneratorEnv } from './generator.env';

@Module({})
export class AppModule {
  static register(env: GeneratorEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 'weblog-generator', env }), ObservabilityModule.forRoot({ service: 'generator' })],
    };
  }
}
