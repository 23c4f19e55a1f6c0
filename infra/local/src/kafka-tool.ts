import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KafkaArtifacts } from './prepare';
import { SupervisedProcess } from './supervisor';

/**
 * Runs one of Kafka's own command-line tools (a main class of the cached jars, such as
 * `org.apache.kafka.tools.consumer.ConsoleConsumer`) to its exit and returns what it printed.
 * Tests and benchmarks use them as the reference client next to ours.
 */
export async function kafkaTool(kafka: KafkaArtifacts, main: string, args: readonly string[], timeoutMs = 600000): Promise<string> {
  const logs = mkdtempSync(path.join(tmpdir(), 'weblog-kafka-tool-'));
  const tool = SupervisedProcess.spawn(
    main,
    'java',
    ['-cp', `${kafka.libs}/*`, `-Dlog4j2.configurationFile=${kafka.log4jConfig}`, `-Dkafka.logs.dir=${logs}`, main, ...args],
    {},
  );
  const code = await tool.waitForExit(timeoutMs).catch(async (error: unknown) => {
    await tool.kill();
    throw error;
  });
  if (code !== 0) throw new Error(`${main} exited with ${String(code)}:\n${tool.logs.slice(-3000)}`);
  return tool.logs;
}
