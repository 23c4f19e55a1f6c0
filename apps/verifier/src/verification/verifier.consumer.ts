import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { KafkaBatch, KafkaBatchContext, OutputTopic } from '@weblog/kafka-common';
import { VerifierService } from './verifier.service';

@Controller()
export class VerifierConsumer {
  constructor(private readonly verifier: VerifierService) {}

  @EventPattern(OutputTopic.key)
  handle(@Payload() batch: KafkaBatch, @Ctx() ctx: KafkaBatchContext): Promise<void> {
    return this.verifier.verify(batch, ctx);
  }
}
