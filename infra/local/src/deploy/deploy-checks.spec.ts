import { PROMETHEUS_VERSION, prometheusRelease } from '../settings';
import { exportedNames, metricNames, readYaml } from './deploy-checks';

describe('metricNames', () => {
  it('finds the metrics of a query and none of its functions, labels, strings or durations', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(weblog_verifier_end_to_end_latency_seconds_bucket{service="verifier"}[5m])))',
      ),
    ).toEqual(['weblog_verifier_end_to_end_latency_seconds_bucket']);
    expect(metricNames('sum by (service) (a_total) > 10000 or sum without (partition) (b_records) > 1e3')).toEqual([
      'a_total',
      'b_records',
    ]);
    expect(metricNames('absent(up{service="transformer"}) or absent(up{service="archiver"})')).toEqual(['up']);
    expect(metricNames('x and on (run) y unless z offset 5m')).toEqual(['x', 'y', 'z']);
  });
});

describe('exportedNames', () => {
  it('reads TYPE lines and adds the series names of histograms and summaries', () => {
    const names = exportedNames(
      ['# HELP a_total help', '# TYPE a_total counter', 'a_total 1', '# TYPE h histogram', '# TYPE s summary', 'h_bucket{le="1"} 0'].join(
        '\n',
      ),
    );
    expect([...names].sort()).toEqual(['a_total', 'h', 'h_bucket', 'h_count', 'h_sum', 's', 's_count', 's_sum']);
  });
});

describe('the Prometheus release', () => {
  it('is the one docker-compose.yaml runs and the one the checks build', () => {
    const compose = readYaml<{ services: Record<string, { image?: string }> }>('docker-compose.yaml');
    expect(compose.services['prometheus']?.image).toBe(`prom/prometheus:${prometheusRelease(PROMETHEUS_VERSION)}`);
  });

  it('is read from Go module versions, so another module version names another release', () => {
    expect(prometheusRelease('v0.316.0')).toBe('v3.16.0');
    expect(prometheusRelease('v0.305.1')).toBe('v3.5.1');
    expect(prometheusRelease('v0.305.0')).not.toBe(prometheusRelease('v0.316.0'));
    expect(() => prometheusRelease('v3.16.0')).toThrow(/not a Prometheus module version/);
  });
});
