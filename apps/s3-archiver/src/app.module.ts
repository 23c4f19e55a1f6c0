import { DynamicModule, Module } from '@nestjs/common';
import { KafkaModule, ObservabilityModule } from '@weblog/kafka-common';
import { ArchiverEnv } from './archiver.env';

@Module({})
export class AppModule {
  static register(env: ArchiverEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 's3-archiver', env }), ObservabilityModule.forRoot({ service: 'archiver' })],
    };
  }
}
