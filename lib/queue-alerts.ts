/**
 * The Prometheus rules of a work-queue environment: recording rules that turn the exporter's
 * series into `ard_queue_*` per queue, and the alerts on them and on kube-state-metrics.
 * Pure data (no cdk8s), so the tests hand exactly these groups to `promtool`.
 *
 * @see https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/
 * @see https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics/workload
 */
import { QUEUE_SCRIPT_VALUES, QueueScriptValue } from './queue-metrics';

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: ReadonlyArray<RecordingRule | AlertingRule>;
}

/** Alert thresholds and where the runbooks are. */
export interface QueueAlertsOptions {
  /** Namespace of the environment: every selector is limited to it. */
  readonly namespace: string;
  /** Workflows of the environment: queue name and workflow name (resource name prefix). */
  readonly workflows: ReadonlyArray<{ readonly name: string; readonly queue: string }>;
  /** Recovery's grace period, seconds (QueueRecovery.graceSeconds). */
  readonly recoveryGraceSeconds: number;
  /**
   * URL of the README; each alert links to `<url>#<alert name, lower case>`, its section.
   */
  readonly runbookUrl: string;
  /**
   * Seconds past the grace period after which an unleased item that recovery has seen counts
   * as stuck: recovery should have moved it by then.
   * @default 300
   */
  readonly expiredMarginSeconds?: number;
  /**
   * Hours without a finished item, while items are pending or processing, before ArdQueueNoProgress.
   * @default 2
   */
  readonly noProgressHours?: number;
  /**
   * Minutes since recovery's last successful run before ArdQueueRecoveryNotRun.
   * @default 15
   */
  readonly recoveryStaleMinutes?: number;
  /**
   * Fraction of `maxmemory` above which ArdRedisMemoryHigh fires.
   * @default 0.8
   */
  readonly memoryRatio?: number;
}

/** Recorded series per queue, labels `namespace` and `queue`: `ard_queue_<value>`. */
export const queueSeries = (value: QueueScriptValue): string => `ard_queue_${value}`;

/** A regex alternative of the names, escaped for PromQL. */
function alternatives(names: readonly string[]): string {
  return names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')).join('|');
}

/**
 * The PromQL of a script value per queue from the raw exporter series, labels
 * `namespace` and `queue` (the recording rules record it; the dashboard also uses it).
 */
export function queueValueExpr(value: QueueScriptValue, namespace: string, queues: readonly string[]): string {
  const q = alternatives(queues);
  return `max by (namespace, queue) (label_replace(redis_script_values{namespace="${namespace}", key=~"(${q}):${value}"}, "queue", "$1", "key", "(${q}):${value}"))`;
}

export function queueAlertGroups(options: QueueAlertsOptions): RuleGroup[] {
  const ns = options.namespace;
  const queues = options.workflows.map((w) => w.queue);
  const expiredAfter = options.recoveryGraceSeconds + (options.expiredMarginSeconds ?? 300);
  const noProgressHours = options.noProgressHours ?? 2;
  const staleSeconds = (options.recoveryStaleMinutes ?? 15) * 60;
  const memoryRatio = options.memoryRatio ?? 0.8;
  const cronJobs = alternatives(options.workflows.map((w) => `${w.name}-requeue-expired`));
  const workerJobs = options.workflows.map((w) => `${alternatives([w.name])}-worker-.+`).join('|');
  const alert = (name: string, severity: 'warning' | 'critical', expr: string, summary: string, description: string, forDuration?: string): AlertingRule => ({
    alert: name,
    expr,
    ...(forDuration !== undefined ? { for: forDuration } : {}),
    labels: { severity },
    annotations: { summary, description, runbook_url: `${options.runbookUrl}#${name.toLowerCase()}` },
  });
  const q = (value: QueueScriptValue) => queueSeries(value);
  const left = `(${q('pending')} + ${q('processing')})`;

  return [{
    name: 'ard-workqueue.rules',
    rules: QUEUE_SCRIPT_VALUES.map((value) => ({ record: queueSeries(value), expr: queueValueExpr(value, ns, queues) })),
  }, {
    name: 'ard-workqueue.alerts',
    rules: [
      alert('ArdQueueItemsExpired', 'warning',
        `${q('unleased_seconds')} > ${expiredAfter}`,
        'Items of dead workers sit in {{ $labels.queue }}:processing longer than recovery should take',
        `Recovery saw an item of {{ $labels.queue }} without a lease more than ${expiredAfter} s ago and has not moved it (it moves such items after ${options.recoveryGraceSeconds} s).`),
      alert('ArdQueueDeadLetters', 'warning',
        `${q('dead_letter')} > 0`,
        'Dead letters in {{ $labels.queue }}',
        'Items of {{ $labels.queue }} failed too often and wait in {{ $labels.queue }}:dead_letter; no worker takes them until they are retried.'),
      alert('ArdQueueNoProgress', 'warning',
        // Stuck: work left, done flat, and the work left not shrinking either (items enqueued
        // with --no-dedupe are not recorded, so only the lists show their completion).
        `${left} > 0 and on (namespace, queue) changes(${q('done')}[10m]) == 0` +
        ` and on (namespace, queue) ${left} >= on (namespace, queue) max_over_time(${left}[10m:1m])`,
        `No item of {{ $labels.queue }} finished for ${noProgressHours} h while work is pending`,
        `Items of {{ $labels.queue }} are pending or processing, and for ${noProgressHours} h neither its done count grew nor its pending and processing items shrank.`,
        `${noProgressHours}h`),
      alert('ArdQueueRecoveryFailed', 'critical',
        `max by (namespace, job_name) (kube_job_status_failed{namespace="${ns}", job_name=~"(${cronJobs})-[0-9]+"}) > 0`,
        'A recovery run failed: {{ $labels.job_name }}',
        'The recovery Job {{ $labels.job_name }} failed, so items of dead workers are not given back.'),
      alert('ArdQueueRecoveryNotRun', 'critical',
        `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{namespace="${ns}", cronjob=~"${cronJobs}"}) > ${staleSeconds}` +
        ` or (time() - max by (namespace, cronjob) (kube_cronjob_created{namespace="${ns}", cronjob=~"${cronJobs}"}) > ${staleSeconds}` +
        ` unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{namespace="${ns}", cronjob=~"${cronJobs}"})`,
        'Recovery {{ $labels.cronjob }} has not succeeded recently',
        `{{ $labels.cronjob }} has not succeeded for more than ${staleSeconds / 60} min (or never since it was created).`),
      alert('ArdRedisMemoryHigh', 'critical',
        `max by (namespace) (redis_memory_used_bytes{namespace="${ns}"}) / max by (namespace) (redis_memory_max_bytes{namespace="${ns}"} > 0) > ${memoryRatio}`,
        'Redis of {{ $labels.namespace }} uses more than ' + `${Math.round(memoryRatio * 100)} % of maxmemory`,
        'At 100 % Redis refuses writes (maxmemory-policy noeviction): enqueue fails and workers crash on -OOM.',
        '5m'),
      alert('ArdRedisDown', 'critical',
        `max by (namespace) (redis_up{namespace="${ns}"}) == 0 or absent(redis_up{namespace="${ns}"})`,
        'No metrics from the Redis of {{ $labels.namespace }}',
        'The exporter cannot reach Redis (redis_up 0), or Prometheus scrapes no exporter: workers cannot work either, and the other queue alerts have no data.',
        '5m'),
      alert('ArdWorkerJobFailed', 'critical',
        `max by (namespace, job_name) (kube_job_failed{namespace="${ns}", job_name=~"${workerJobs}", condition="true"}) > 0`,
        'Worker Job {{ $labels.job_name }} failed',
        'The worker Job {{ $labels.job_name }} reached its backoff limit or deadline; its pods no longer take items.'),
    ],
  }];
}
