import { newClusterId, serverProperties } from './kafka-server';

describe('newClusterId', () => {
  it('never starts with "-", which the storage tool would take for an option', () => {
    // 0xf8 encodes to '-' as the first base64url character.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
    const id = newClusterId(() => draws.shift() ?? Buffer.alloc(16, 0x02));
    expect(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-')).toBe(true);
    expect(id).toBe(Buffer.alloc(16, 0x01).toString('base64url'));
  });

  it('is a Kafka Uuid: 22 characters of unpadded base64url', () => {
    for (let i = 0; i < 200; i++) expect(newClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});

describe('serverProperties', () => {
  const layout = (nodes: number, nodeId = 1) => ({
    nodeId,
    brokerPort: 9000 + nodeId,
    controllerPort: 9100 + nodeId,
    quorum: Array.from({ length: nodes }, (_, i) => ({ nodeId: i + 1, controllerPort: 9101 + i })),
  });
  const parsed = (text: string): Record<string, string> =>
    Object.fromEntries(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );

  it('keeps one broker at one replica with a minimum of one in sync, internal topics included', () => {
    const props = parsed(serverProperties(layout(1), '/data'));
    expect(props).toMatchObject({
      'controller.quorum.voters': '1@127.0.0.1:9101',
      'default.replication.factor': '1',
      'min.insync.replicas': '1',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
    });
  });

  it('gives a node of three every voter, 3 replicas and a minimum of 2 in sync, internal topics included', () => {
    const props = parsed(serverProperties(layout(3, 2), '/data'));
    expect(props).toMatchObject({
      'node.id': '2',
      'process.roles': 'broker,controller',
      'controller.quorum.voters': '1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103',
      listeners: 'PLAINTEXT://127.0.0.1:9002,CONTROLLER://127.0.0.1:9102',
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
    });
  });
});
