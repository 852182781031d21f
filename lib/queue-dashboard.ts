/**
 * The Grafana dashboard of a work-queue environment, as the JSON model Grafana imports. Its
 * queries read the exporter's series directly (not the recording rules), so it works with the
 * PrometheusRule switched off. Pure data, so tests can check every query with promtool.
 *
 * @see https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/
 */
import { queueValueExpr } from './queue-alerts';

export interface QueueDashboardOptions {
  readonly namespace: string;
  readonly queues: readonly string[];
}

/** A panel's query, in Grafana's Prometheus target form. */
interface Target {
  readonly expr: string;
  readonly legendFormat: string;
  readonly refId: string;
}

/** Window of the throughput and ETA panels. */
export const RATE_WINDOW = '1h';

/** Every query the dashboard runs, by panel title. */
export function dashboardQueries(options: QueueDashboardOptions): Record<string, Target[]> {
  const v = (value: Parameters<typeof queueValueExpr>[0]) => queueValueExpr(value, options.namespace, options.queues);
  const ns = options.namespace;
  const target = (expr: string, legendFormat: string, i: number): Target => ({ expr, legendFormat, refId: String.fromCharCode(65 + i) });
  // A subquery: the per-queue series is an expression, not a stored series.
  const throughput = `(clamp_min(deriv(${v('done')}[${RATE_WINDOW}:1m]), 0) * 3600)`;
  return {
    'Items by state': [
      target(v('pending'), '{{queue}} pending', 0),
      target(v('processing'), '{{queue}} processing', 1),
      target(v('done'), '{{queue}} done', 2),
      target(v('dead_letter'), '{{queue}} dead letters', 3),
    ],
    'Throughput (items/hour)': [target(throughput, '{{queue}}', 0)],
    'ETA (hours at the current throughput)': [
      target(`(${v('pending')} + ${v('processing')}) / (${throughput} > 0)`, '{{queue}}', 0),
    ],
    'Progress (% done of recorded)': [target(`100 * ${v('done')} / (${v('recorded')} > 0)`, '{{queue}}', 0)],
    'Expired in processing and dead letters': [
      target(v('unleased_seconds'), '{{queue}} oldest unleased item (s)', 0),
      target(v('dead_letter'), '{{queue}} dead letters', 1),
    ],
    'Redis memory': [
      target(`max by (namespace) (redis_memory_used_bytes{namespace="${ns}"})`, 'used', 0),
      target(`max by (namespace) (redis_memory_max_bytes{namespace="${ns}"})`, 'maxmemory', 1),
    ],
  };
}

const UNITS: Readonly<Record<string, string>> = {
  'Items by state': 'short',
  'Throughput (items/hour)': 'short',
  'ETA (hours at the current throughput)': 'h',
  'Progress (% done of recorded)': 'percent',
  'Expired in processing and dead letters': 'short',
  'Redis memory': 'bytes',
};

/** The dashboard JSON model: one time-series panel per query group, two a row. */
export function queueDashboard(options: QueueDashboardOptions & { readonly uid: string; readonly title: string }): object {
  const panels = Object.entries(dashboardQueries(options)).map(([title, targets], i) => ({
    id: i + 1,
    type: 'timeseries',
    title,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: { defaults: { unit: UNITS[title] }, overrides: [] },
    targets: targets.map((t) => ({ ...t, datasource: { type: 'prometheus', uid: '${datasource}' } })),
  }));
  return {
    uid: options.uid,
    title: options.title,
    tags: ['ard-workqueue'],
    timezone: 'utc',
    schemaVersion: 39,
    refresh: '1m',
    time: { from: 'now-24h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }],
    },
    panels,
  };
}
