import { Injectable } from '@nestjs/common';

export type ReadinessCheck = () => Promise<void>;

/** Where providers register what must work for the service to be ready (Kafka, S3, ...). */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  entries(): [string, ReadinessCheck][] {
    return [...this.checks];
  }
}
