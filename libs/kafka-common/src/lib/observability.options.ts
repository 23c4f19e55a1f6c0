export const OBSERVABILITY_OPTIONS = Symbol('OBSERVABILITY_OPTIONS');

export interface ObservabilityOptions {
  /** Service name: the `service` label and the default metric prefix `weblog_<service>`. */
  readonly service: string;
  readonly metricPrefix?: string;
}
