import { ConfigError } from '@weblog/kafka-common';
import { connectSettings, CONNECT_SETTINGS, resolveArchiverEnv } from './archiver.env';

const base = { KAFKA_BROKERS: '127.0.0.1:9092' };
const fromFile = (config: Record<string, unknown>, file = 'c.json') =>
  resolveArchiverEnv({ ...base, ARCHIVER_CONFIG_FILE: file }, () => JSON.stringify(config));

describe('archiver configuration', () => {
  it('defaults to objects of 10 records or 10 s, offset layout, metadata on, no gzip, hourly event-time partitions', () => {
    expect(resolveArchiverEnv(base)).toMatchObject({
      ARCHIVER_FLUSH_SIZE: 10,
      ARCHIVER_ROTATE_INTERVAL_MS: 10000,
      ARCHIVER_ROTATE_SCHEDULE_INTERVAL_MS: 0,
      ARCHIVER_KEY_LAYOUT: 'offset',
      ARCHIVER_FILE_NAMING: 'archiver',
      ARCHIVER_OFFSET_ZERO_PAD_WIDTH: 10,
      ARCHIVER_PATH_FORMAT: "'dt'=YYYY-MM-dd/'hour'=HH",
      ARCHIVER_PARTITION_DURATION_MS: 3600000,
      ARCHIVER_TIMEZONE: 'UTC',
      ARCHIVER_LOCALE: 'en',
      ARCHIVER_TIMESTAMP_EXTRACTOR: 'RecordField',
      ARCHIVER_TIMESTAMP_FIELD: 'timestamp_utc',
      ARCHIVER_RECORD_METADATA: true,
      ARCHIVER_GZIP: false,
      ARCHIVER_TOPICS_DIR: 'topics',
      ARCHIVER_ALLOW_UNCONDITIONAL_WRITES: false,
      ARCHIVER_MAX_UPLOADS_IN_FLIGHT: 64,
      S3_CONNECTION_TIMEOUT_MS: 3000,
      S3_REQUEST_TIMEOUT_MS: 30000,
      S3_MAX_ATTEMPTS: 3,
      PORT: 3003,
    });
  });

  it('bounds S3 waits as configured and accepts a weaker write guarantee only when told', () => {
    expect(
      resolveArchiverEnv({
        ...base,
        S3_CONNECTION_TIMEOUT_MS: '500',
        S3_REQUEST_TIMEOUT_MS: '2000',
        S3_MAX_ATTEMPTS: '1',
        ARCHIVER_ALLOW_UNCONDITIONAL_WRITES: 'true',
      }),
    ).toMatchObject({
      S3_CONNECTION_TIMEOUT_MS: 500,
      S3_REQUEST_TIMEOUT_MS: 2000,
      S3_MAX_ATTEMPTS: 1,
      ARCHIVER_ALLOW_UNCONDITIONAL_WRITES: true,
    });
  });

  it.each([
    ['ARCHIVER_PATH_FORMAT', "'dt'=YYYY-ww"],
    ['ARCHIVER_PATH_FORMAT', "/'dt'=YYYY"],
    ['ARCHIVER_PARTITION_DURATION_MS', '0'],
    ['ARCHIVER_TIMEZONE', 'Mars/Olympus'],
    ['ARCHIVER_LOCALE', 'not a locale!'],
    ['ARCHIVER_TIMESTAMP_EXTRACTOR', 'Header'],
    ['ARCHIVER_TIMESTAMP_FIELD', 'url'],
    ['ARCHIVER_ROTATE_SCHEDULE_INTERVAL_MS', '-5'],
    ['ARCHIVER_FILE_NAMING', 'hive'],
    ['ARCHIVER_OFFSET_ZERO_PAD_WIDTH', '21'],
    ['ARCHIVER_SSE', 'rot13'],
    ['S3_CONNECTION_TIMEOUT_MS', '0'],
    ['S3_REQUEST_TIMEOUT_MS', 'forever'],
    ['S3_MAX_ATTEMPTS', '21'],
    ['ARCHIVER_ALLOW_UNCONDITIONAL_WRITES', 'maybe'],
    ['ARCHIVER_MAX_UPLOADS_IN_FLIGHT', '0'],
    ['ARCHIVER_MAX_UPLOADS_IN_FLIGHT', '257'],
  ])('stops with one line naming %s when it is %s', (variable, value) => {
    expect(() => resolveArchiverEnv({ ...base, [variable]: value })).toThrow(new RegExp(`^Invalid configuration: ${variable} [^\\n]+$`));
  });

  it('lets environment variables win over the file', () => {
    const env = resolveArchiverEnv({ ...base, ARCHIVER_CONFIG_FILE: 'c.json', ARCHIVER_FLUSH_SIZE: '20' }, () =>
      JSON.stringify({ 'flush.size': 500, 's3.bucket.name': 'from-file' }),
    );
    expect(env.ARCHIVER_FLUSH_SIZE).toBe(20);
    expect(env.S3_BUCKET).toBe('from-file');
  });

  it('reads the flat config, the REST document and a .properties file alike', () => {
    const config = { 'flush.size': 500, 'topics.dir': 'raw' };
    const expected = { ARCHIVER_FLUSH_SIZE: '500', ARCHIVER_TOPICS_DIR: 'raw' };
    expect(connectSettings(JSON.stringify(config), 'f')).toEqual(expected);
    expect(connectSettings(JSON.stringify({ name: 's3-sink', config }), 'f')).toEqual(expected);
    expect(connectSettings('# a comment\nflush.size=500\ntopics.dir = raw\n', 'sink.properties')).toEqual(expected);
  });

  it('stops with one line naming the variable when the file is missing or not JSON', () => {
    expect(() =>
      resolveArchiverEnv({ ...base, ARCHIVER_CONFIG_FILE: 'missing.json' }, () => {
        throw new Error('ENOENT');
      }),
    ).toThrow(ConfigError);
    expect(() => resolveArchiverEnv({ ...base, ARCHIVER_CONFIG_FILE: 'bad.json' }, () => '{nope')).toThrow(
      /ARCHIVER_CONFIG_FILE must name a JSON file/,
    );
  });

  it("starts from Confluent's S3 sink quickstart once its Avro format is replaced by JSON, and names the Avro format otherwise", () => {
    const quickstart = `name=s3-sink
connector.class=io.confluent.connect.s3.S3SinkConnector
tasks.max=1
topics=s3_topic
s3.region=us-west-2
s3.bucket.name=confluent-kafka-connect-s3-testing
s3.part.size=5242880
flush.size=3
storage.class=io.confluent.connect.s3.storage.S3Storage
format.class=io.confluent.connect.s3.format.avro.AvroFormat
schema.generator.class=io.confluent.connect.storage.hive.schema.DefaultSchemaGenerator
partitioner.class=io.confluent.connect.storage.partitioner.DefaultPartitioner
schema.compatibility=NONE
`;
    const load = (text: string) => resolveArchiverEnv({ ...base, ARCHIVER_CONFIG_FILE: 'quickstart-s3.properties' }, () => text);
    expect(() => load(quickstart)).toThrow(
      /^Invalid configuration: ARCHIVER_CONFIG_FILE format\.class=io\.confluent\.connect\.s3\.format\.avro\.AvroFormat is not supported: the archiver writes JSON Lines only/,
    );
    expect(load(quickstart.replace('format.avro.AvroFormat', 'format.json.JsonFormat'))).toMatchObject({
      KAFKA_TOPIC_OUTPUT: 's3_topic',
      S3_REGION: 'us-west-2',
      S3_BUCKET: 'confluent-kafka-connect-s3-testing',
      ARCHIVER_FLUSH_SIZE: 3,
      ARCHIVER_RECORD_METADATA: false,
      ARCHIVER_KEY_LAYOUT: 'offset',
      ARCHIVER_FILE_NAMING: 'connect',
    });
  });
});

describe('each accepted Kafka Connect key', () => {
  const accepted: [string, unknown, Record<string, unknown>][] = [
    ['flush.size', 500, { ARCHIVER_FLUSH_SIZE: 500 }],
    ['rotate.interval.ms', 60000, { ARCHIVER_ROTATE_INTERVAL_MS: 60000 }],
    ['rotate.interval.ms', -1, { ARCHIVER_ROTATE_INTERVAL_MS: 10000 }],
    ['rotate.schedule.interval.ms', 3600000, { ARCHIVER_ROTATE_SCHEDULE_INTERVAL_MS: 3600000 }],
    ['s3.bucket.name', 'lake', { S3_BUCKET: 'lake' }],
    ['s3.region', 'eu-west-1', { S3_REGION: 'eu-west-1' }],
    ['store.url', 'http://127.0.0.1:7070', { S3_ENDPOINT: 'http://127.0.0.1:7070' }],
    ['topics.dir', 'raw', { ARCHIVER_TOPICS_DIR: 'raw' }],
    ['partitioner.class', 'io.confluent.connect.storage.partitioner.DefaultPartitioner', { ARCHIVER_KEY_LAYOUT: 'offset' }],
    ['partitioner.class', 'io.confluent.connect.storage.partitioner.TimeBasedPartitioner', { ARCHIVER_KEY_LAYOUT: 'time' }],
    [
      'partitioner.class',
      'io.confluent.connect.storage.partitioner.HourlyPartitioner',
      {
        ARCHIVER_KEY_LAYOUT: 'time',
        ARCHIVER_PATH_FORMAT: "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH",
        ARCHIVER_PARTITION_DURATION_MS: 3600000,
      },
    ],
    [
      'partitioner.class',
      'io.confluent.connect.storage.partitioner.DailyPartitioner',
      { ARCHIVER_KEY_LAYOUT: 'time', ARCHIVER_PATH_FORMAT: "'year'=YYYY/'month'=MM/'day'=dd", ARCHIVER_PARTITION_DURATION_MS: 86400000 },
    ],
    ['path.format', "'date'=YYYY-MM-dd", { ARCHIVER_PATH_FORMAT: "'date'=YYYY-MM-dd" }],
    ['partition.duration.ms', 86400000, { ARCHIVER_PARTITION_DURATION_MS: 86400000 }],
    ['locale', 'en_US', { ARCHIVER_LOCALE: 'en_US' }],
    ['timezone', 'America/Los_Angeles', { ARCHIVER_TIMEZONE: 'America/Los_Angeles' }],
    ['timestamp.extractor', 'Record', { ARCHIVER_TIMESTAMP_EXTRACTOR: 'Record' }],
    ['timestamp.field', 'timestamp', { ARCHIVER_TIMESTAMP_FIELD: 'timestamp' }],
    ['format.class', 'io.confluent.connect.s3.format.json.JsonFormat', { ARCHIVER_RECORD_METADATA: false }],
    ['s3.compression.type', 'gzip', { ARCHIVER_GZIP: true }],
    ['filename.offset.zero.pad.width', 12, { ARCHIVER_OFFSET_ZERO_PAD_WIDTH: 12 }],
    ['s3.part.size', 5242880, {}],
    ['s3.ssea.name', 'aws:kms', { ARCHIVER_SSE: 'aws:kms' }],
    ['s3.sse.kms.key.id', 'alias/lake', { ARCHIVER_SSE_KMS_KEY_ID: 'alias/lake' }],
    ['name', 's3-sink', {}],
    ['tasks.max', 4, {}],
    ['connector.class', 'io.confluent.connect.s3.S3SinkConnector', { ARCHIVER_FILE_NAMING: 'connect' }],
    ['storage.class', 'io.confluent.connect.s3.storage.S3Storage', {}],
    ['topics', 'weblogs', { KAFKA_TOPIC_OUTPUT: 'weblogs' }],
    ['key.converter', 'org.apache.kafka.connect.storage.StringConverter', {}],
    ['key.converter.schemas.enable', false, {}],
    ['value.converter', 'org.apache.kafka.connect.json.JsonConverter', {}],
    ['value.converter.schemas.enable', false, {}],
    ['schema.compatibility', 'NONE', {}],
    ['schema.generator.class', 'io.confluent.connect.storage.hive.schema.DefaultSchemaGenerator', {}],
  ];

  it.each(accepted)('%s=%s', (key, value, expected) => {
    expect(fromFile({ [key]: value })).toMatchObject(expected);
  });

  it('covers every key of the table', () => {
    expect(new Set(accepted.map(([key]) => key))).toEqual(new Set(Object.keys(CONNECT_SETTINGS)));
  });

  it('lets the Hourly partitioner fix path.format as Connect does', () => {
    expect(
      fromFile({ 'path.format': "'x'=YYYY", 'partitioner.class': 'io.confluent.connect.storage.partitioner.HourlyPartitioner' }),
    ).toMatchObject({ ARCHIVER_PATH_FORMAT: "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH" });
  });
});

describe('each refused Kafka Connect key or value, in one line naming it', () => {
  it.each([
    ['topics.regex', 'weblogs.*', /topics\.regex \(the archiver archives one topic/],
    ['s3.sse.customer.key', 'secret', /s3\.sse\.customer\.key \(SSE-C/],
    ['partition.field.name', 'status_code', /partition\.field\.name \(field partitioning/],
    ['errors.tolerance', 'all', /does not support: errors\.tolerance$/],
    ['behavior.on.null.values', 'ignore', /does not support: behavior\.on\.null\.values$/],
    ['hive.integration', true, /does not support: hive\.integration$/],
    ['s3.acl.canned', 'private', /does not support: s3\.acl\.canned$/],
    ['transforms', 'route', /does not support: transforms$/],
    [
      'partitioner.class',
      'io.confluent.connect.storage.partitioner.FieldPartitioner',
      /partitioner\.class=.*FieldPartitioner is not supported/,
    ],
    ['format.class', 'io.confluent.connect.s3.format.parquet.ParquetFormat', /format\.class=.*ParquetFormat is not supported/],
    ['s3.compression.type', 'snappy', /s3\.compression\.type=snappy is not supported/],
    ['s3.part.size', 1024, /s3\.part\.size=1024 must be/],
    ['connector.class', 'io.confluent.connect.gcs.GcsSinkConnector', /connector\.class=.*GcsSinkConnector is not supported/],
    ['storage.class', 'io.confluent.connect.hdfs.storage.HdfsStorage', /storage\.class=.* is not supported/],
    ['topics', 'a,b', /topics=a,b is not supported: the archiver archives one topic/],
    ['value.converter', 'io.confluent.connect.avro.AvroConverter', /value\.converter=.* is not supported/],
    ['value.converter.schemas.enable', true, /value\.converter\.schemas\.enable=true is not supported/],
    ['schema.compatibility', 'BACKWARD', /schema\.compatibility=BACKWARD is not supported/],
    ['timestamp.extractor', 'RecordFieldHeader', /^Invalid configuration: ARCHIVER_TIMESTAMP_EXTRACTOR /],
    ['timestamp.field', 'ts', /^Invalid configuration: ARCHIVER_TIMESTAMP_FIELD /],
    ['path.format', "'w'=ww", /^Invalid configuration: ARCHIVER_PATH_FORMAT /],
    ['timezone', 'Nowhere/Land', /^Invalid configuration: ARCHIVER_TIMEZONE /],
  ])('%s=%s', (key, value, message) => {
    let error: unknown;
    try {
      fromFile({ [key]: value });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});
