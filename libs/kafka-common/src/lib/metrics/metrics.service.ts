import { Inject, Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  Registry,
} from 'prom-client';
import { OBSERVABILITY_OPTIONS, ObservabilityOptions } from '../observability.options';

/**
 * One registry per service. The service's own metrics are named `<prefix>_<name>`
 * (for example `weblog_transformer_records_consumed_total`); the default process and Node.js
 * metrics keep their standard names so stock dashboards work, and every series carries a
 * `service` label.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly prefix: string;

  constructor(@Inject(OBSERVABILITY_OPTIONS) options: ObservabilityOptions) {
    this.prefix = options.metricPrefix ?? `weblog_${options.service.replace(/[^a-zA-Z0-9]/g, '_')}`;
    this.registry.setDefaultLabels({ service: options.service });
    collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return new Counter({ ...config, name: this.name(config.name), registers: [this.registry] });
  }

  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return new Gauge({ ...config, name: this.name(config.name), registers: [this.registry] });
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return new Histogram({ ...config, name: this.name(config.name), registers: [this.registry] });
  }

  private name(name: string): string {
    return `${this.prefix}_${name}`;
  }
}
