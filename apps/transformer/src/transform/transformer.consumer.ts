import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { BatchResult, InputTopic, KafkaBatch } from '@weblog/kafka-common';
import { TransformerService } from './transformer.service';

@Controller()
export class TransformerConsumer {
  constructor(private readonly transformer: TransformerService) {}

  @EventPattern(InputTopic.key)
  handle(@Payload() batch: KafkaBatch): BatchResult | Promise<BatchResult> {
    return this.transformer.process(batch);
  }
}
