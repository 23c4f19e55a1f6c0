import { ConfigError, httpEnvShape, kafkaEnvShape, parseEnv, s3EnvShape, s3Region, serviceEnv } from './env';

const schema = serviceEnv({ ...kafkaEnvShape, ...httpEnvShape(3002), ...s3EnvShape });
const valid = { KAFKA_BROKERS: '127.0.0.1:9092' };

function errorFor(env: Record<string, string>): ConfigError {
  try {
    parseEnv(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  it('fills defaults: topics, partitions, port, bucket', () => {
    const env = parseEnv(schema, valid);
    expect(env).toMatchObject({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_TOPIC_INPUT: 'input-topic',
      KAFKA_TOPIC_OUTPUT: 'output-topic',
      KAFKA_TOPIC_REPROCESSED: 'reprocessed-data',
      KAFKA_TOPIC_DEAD_LETTER: 'weblog-dead-letter',
      KAFKA_TOPIC_PARTITIONS: 3,
      PORT: 3002,
      S3_BUCKET: 'weblog-archive',
      KAFKA_SSL: false,
    });
  });

  it('splits and trims a broker list and accepts IPv6 brokers', () => {
    expect(parseEnv(schema, { KAFKA_BROKERS: 'a.example:9092, b.example:9093,[::1]:9094' }).KAFKA_BROKERS).toEqual([
      'a.example:9092',
      'b.example:9093',
      '[::1]:9094',
    ]);
  });

  it.each([
    ['missing brokers', {}, 'KAFKA_BROKERS', 'it is not set'],
    ['brokers without a port', { KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS', 'host:port'],
    ['empty brokers', { KAFKA_BROKERS: '' }, 'KAFKA_BROKERS', 'host:port'],
    ['broker port out of range', { KAFKA_BROKERS: 'localhost:70000' }, 'KAFKA_BROKERS', 'host:port'],
    ['port not a number', { ...valid, PORT: 'http' }, 'PORT', '1 to 65535'],
    ['port zero', { ...valid, PORT: '0' }, 'PORT', '1 to 65535'],
    ['port too large', { ...valid, PORT: '65536' }, 'PORT', '1 to 65535'],
    ['fractional partitions', { ...valid, KAFKA_TOPIC_PARTITIONS: '2.5' }, 'KAFKA_TOPIC_PARTITIONS', 'whole number'],
    ['bad topic name', { ...valid, KAFKA_TOPIC_INPUT: 'in put' }, 'KAFKA_TOPIC_INPUT', 'Kafka topic name'],
    ['bad boolean', { ...valid, KAFKA_SSL: 'maybe' }, 'KAFKA_SSL', 'true or false'],
    ['unknown SASL mechanism', { ...valid, KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM', 'plain, scram-sha-256'],
    ['SASL without a user', { ...valid, KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_USERNAME', 'required when KAFKA_SASL_MECHANISM'],
    [
      'SASL credentials without a mechanism',
      { ...valid, KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
      'KAFKA_SASL_MECHANISM',
      'required when KAFKA_SASL_USERNAME',
    ],
    [
      'SASL PLAIN without TLS',
      { ...valid, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
      'KAFKA_SSL',
      'password in clear',
    ],
    [
      'input and output topics equal',
      { ...valid, KAFKA_TOPIC_OUTPUT: 'input-topic' },
      'KAFKA_TOPIC_OUTPUT',
      'differ from KAFKA_TOPIC_INPUT',
    ],
    ['dead letters into the input', { ...valid, KAFKA_TOPIC_DEAD_LETTER: 'input-topic' }, 'KAFKA_TOPIC_DEAD_LETTER', 'must differ'],
    ['bad bucket', { ...valid, S3_BUCKET: 'Bad_Bucket' }, 'S3_BUCKET', 'S3 bucket name'],
    ['bad endpoint', { ...valid, S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT', 'URL'],
    ['bind address with a port', { ...valid, HTTP_HOST: '127.0.0.1:3002' }, 'HTTP_HOST', 'IP address or a host name'],
    ['bind address as a URL', { ...valid, HTTP_HOST: 'http://0.0.0.0' }, 'HTTP_HOST', 'IP address or a host name'],
    ['bind address out of range', { ...valid, HTTP_HOST: '256.1.1.1' }, 'HTTP_HOST', 'IP address or a host name'],
  ])('stops on %s with one line naming the variable', (_name, env, variable, expectation) => {
    const error = errorFor(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(expectation);
    expect(error.message).not.toContain('\n');
  });

  it('accepts SASL PLAIN over TLS, SCRAM without TLS, and PLAIN without TLS only when told to', () => {
    const credentials = { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' };
    expect(() => parseEnv(schema, { ...valid, ...credentials, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SSL: 'true' })).not.toThrow();
    expect(() => parseEnv(schema, { ...valid, ...credentials, KAFKA_SASL_MECHANISM: 'scram-sha-512' })).not.toThrow();
    expect(() =>
      parseEnv(schema, { ...valid, ...credentials, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PLAIN_WITHOUT_TLS: 'true' }),
    ).not.toThrow();
  });

  it('binds every interface unless HTTP_HOST names an address', () => {
    expect(parseEnv(schema, valid).HTTP_HOST).toBeUndefined();
    for (const host of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'pod-0.weblog.svc'])
      expect(parseEnv(schema, { ...valid, HTTP_HOST: host }).HTTP_HOST).toBe(host);
  });

  it('signs S3 requests for S3_REGION, else the AWS_REGION that EKS injects, else us-east-1', () => {
    expect(s3Region(parseEnv(schema, { ...valid, S3_REGION: 'eu-west-1', AWS_REGION: 'ap-south-1' }))).toBe('eu-west-1');
    expect(s3Region(parseEnv(schema, { ...valid, AWS_REGION: 'ap-south-1' }))).toBe('ap-south-1');
    expect(s3Region(parseEnv(schema, valid))).toBe('us-east-1');
  });

  it('never echoes a secret value in full when it is long', () => {
    const error = errorFor({ ...valid, PORT: 'x'.repeat(200) });
    expect(error.message.length).toBeLessThan(200);
  });
});

describe('KAFKA_TOPIC_MIN_INSYNC_REPLICAS', () => {
  it('is unset by default, so the broker default applies', () => {
    expect(parseEnv(schema, valid).KAFKA_TOPIC_MIN_INSYNC_REPLICAS).toBeUndefined();
  });

  it('accepts a value up to the replication factor', () => {
    const env = parseEnv(schema, { ...valid, KAFKA_TOPIC_REPLICATION_FACTOR: '3', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' });
    expect([env.KAFKA_TOPIC_REPLICATION_FACTOR, env.KAFKA_TOPIC_MIN_INSYNC_REPLICAS]).toEqual([3, 2]);
  });

  it.each([
    ['zero', '0', 'whole number from 1 to 32'],
    ['fractional', '1.5', 'whole number from 1 to 32'],
    ['not a number', 'two', 'whole number from 1 to 32'],
  ])('refuses %s', (_name, value, expectation) => {
    const error = errorFor({ ...valid, KAFKA_TOPIC_MIN_INSYNC_REPLICAS: value });
    expect(error.variable).toBe('KAFKA_TOPIC_MIN_INSYNC_REPLICAS');
    expect(error.message).toContain(expectation);
  });

  it('refuses more in-sync replicas than replicas, which no acks=all write could satisfy', () => {
    const error = errorFor({ ...valid, KAFKA_TOPIC_REPLICATION_FACTOR: '1', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' });
    expect(error.message).toBe(
      'Invalid configuration: KAFKA_TOPIC_MIN_INSYNC_REPLICAS must not exceed KAFKA_TOPIC_REPLICATION_FACTOR (1), or no write with acks=all succeeds (got "2")',
    );
  });
});
