import { DynamicModule, Module } from '@nestjs/common';
import { KafkaModule, ObservabilityModule } from '@weblog/kafka-common';
import { ShipperMetrics } from './ship/shipper.metrics';
import { ShipperService } from './ship/shipper.service';
import { ShipperEnv } from './shipper.env';
import { SHIPPER_ENV } from './shipper.tokens';

@Module({})
export class AppModule {
  static register(env: ShipperEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 'weblog-log-shipper', env }), ObservabilityModule.forRoot({ service: 'log-shipper' })],
      providers: [{ provide: SHIPPER_ENV, useValue: env }, ShipperMetrics, ShipperService],
    };
  }
}
