import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { BatchResult, KafkaBatch, KafkaBatchContext, OutputTopic } from '@weblog/kafka-common';
import { ArchiverService } from './archiver.service';

@Controller()
export class ArchiverConsumer {
  constructor(private readonly archiver: ArchiverService) {}

  @EventPattern(OutputTopic.key)
  handle(@Payload() batch: KafkaBatch, @Ctx() ctx: KafkaBatchContext): Promise<BatchResult> {
    return this.archiver.handle(batch, ctx);
  }
}
