import { Logger, LoggerService } from '@nestjs/common';
import { EachBatchPayload, Kafka } from 'kafkajs';
import { KafkaBatchTransport } from './kafka-batch.transport';

// The transport logs through a Nest `Logger` that carries its context already (the provider's,
// or its own default). A context passed again with each call reached the service's JSON logger
// as a second message (a line of its own reading "KafkaBatchTransport") or, for errors, as the
// stack. One line a call, with the context once, is what an operator's log search expects.
describe('KafkaBatchTransport log lines', () => {
  const calls: { level: string; params: unknown[] }[] = [];
  const capture: LoggerService = {
    log: (...params: unknown[]) => calls.push({ level: 'log', params }),
    warn: (...params: unknown[]) => calls.push({ level: 'warn', params }),
    error: (...params: unknown[]) => calls.push({ level: 'error', params }),
    debug: (...params: unknown[]) => calls.push({ level: 'debug', params }),
  };

  beforeAll(() => {
    Logger.overrideLogger(capture);
  });
  afterAll(() => {
    Logger.overrideLogger(new Logger());
  });

  it('says a failed batch in one line, with its context once', async () => {
    const transport = new KafkaBatchTransport({
      kafka: {} as Kafka,
      groupId: 'g',
      consumerName: 'c',
      subscriptions: [{ key: 'records', topic: 't' }],
      logger: new Logger(KafkaBatchTransport.name),
      retry: { initialMs: 1, maxMs: 1 },
    });
    transport.addHandler('records', () => Promise.reject(new Error('sink down')), true);
    const payload = {
      batch: {
        topic: 't',
        partition: 0,
        messages: [{ offset: '0', value: Buffer.from('x'), key: null, headers: {}, timestamp: '0', attributes: 0 }],
        highWatermark: '1',
        lastOffset: () => '0',
        firstOffset: () => '0',
      },
      heartbeat: () => Promise.resolve(),
      pause: () => () => undefined,
      isStale: () => false,
      resolveOffset: () => undefined,
    } as unknown as EachBatchPayload;
    await (transport as unknown as { processBatch(p: EachBatchPayload): Promise<void> }).processBatch(payload);
    await transport.close();
    const warning = calls.find((c) => c.level === 'warn');
    expect(String(warning?.params[0])).toContain('sink down');
    expect(warning?.params.slice(1)).toEqual([KafkaBatchTransport.name]);
  });
});
