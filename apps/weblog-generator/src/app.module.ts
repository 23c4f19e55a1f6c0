import { DynamicModule, Module } from '@nestjs/common';
import { createSafeProducer, KafkaModule, managedProducerProvider, ObservabilityModule } from '@weblog/kafka-common';
import { GeneratorService } from './generation/generator.service';
import { GeneratorEnv } from './generator.env';
import { GENERATOR_ENV, GENERATOR_PRODUCER } from './generator.tokens';

@Module({})
export class AppModule {
  static register(env: GeneratorEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 'weblog-generator', env }), ObservabilityModule.forRoot({ service: 'generator' })],
      providers: [
        { provide: GENERATOR_ENV, useValue: env },
        managedProducerProvider(GENERATOR_PRODUCER, (kafka) => createSafeProducer(kafka)),
        GeneratorService,
      ],
    };
  }
}
