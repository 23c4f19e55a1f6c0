import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { BatchOutcome, InputTopic, KafkaBatch, KafkaBatchContext } from '@weblog/kafka-common';
import { TransformerService } from './transformer.service';

@Controller()
export class TransformerConsumer {
  constructor(private readonly transformer: TransformerService) {}

  @EventPattern(InputTopic.key)
  handle(@Payload() batch: KafkaBatch, @Ctx() ctx: KafkaBatchContext): Promise<BatchOutcome> {
    return this.transformer.process(batch, ctx);
  }
}
