import { exportedNames, metricNames } from './deploy-checks';

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
