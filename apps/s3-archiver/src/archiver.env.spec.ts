import { ConfigError } from '@weblog/kafka-common';
import { connectSettings, resolveArchiverEnv } from './archiver.env';

const base = { KAFKA_BROKERS: '127.0.0.1:9092' };

describe('archiver configuration', () => {
  it('defaults to objects of 10 records or 10 s, offset layout, metadata on, no gzip', () => {
    expect(resolveArchiverEnv(base)).toMatchObject({
      ARCHIVER_FLUSH_SIZE: 10,
      ARCHIVER_ROTATE_INTERVAL_MS: 10000,
      ARCHIVER_KEY_LAYOUT: 'offset',
      ARCHIVER_RECORD_METADATA: true,
      ARCHIVER_GZIP: false,
      ARCHIVER_TOPICS_DIR: 'topics',
      PORT: 3003,
    });
  });

  it('takes Kafka Connect S3 sink settings from a config file, flat or as a REST document', () => {
    const connector = {
      name: 's3-sink',
      config: {
        'flush.size': 500,
        'rotate.interval.ms': '60000',
        's3.bucket.name': 'legacy-bucket',
        's3.region': 'eu-west-1',
        'topics.dir': 'raw',
      },
    };
    expect(connectSettings(JSON.stringify(connector), 'f')).toEqual({
      ARCHIVER_FLUSH_SIZE: '500',
      ARCHIVER_ROTATE_INTERVAL_MS: '60000',
      S3_BUCKET: 'legacy-bucket',
      S3_REGION: 'eu-west-1',
      ARCHIVER_TOPICS_DIR: 'raw',
    });
    expect(connectSettings(JSON.stringify(connector.config), 'f')).toEqual(connectSettings(JSON.stringify(connector), 'f'));
  });

  it('lets environment variables win over the file', () => {
    const env = resolveArchiverEnv({ ...base, ARCHIVER_CONFIG_FILE: 'c.json', ARCHIVER_FLUSH_SIZE: '20' }, () =>
      JSON.stringify({ 'flush.size': 500, 's3.bucket.name': 'from-file' }),
    );
    expect(env.ARCHIVER_FLUSH_SIZE).toBe(20);
    expect(env.S3_BUCKET).toBe('from-file');
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
});
