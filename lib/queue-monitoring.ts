import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr, ServiceMonitor } from '../imports/monitoring.coreos.com';
import { componentLabels } from './labels';
import { queueAlertGroups, QueueAlertsOptions, RuleGroup } from './queue-alerts';
import { queueDashboard } from './queue-dashboard';
import { RedisExporter, RedisExporterProps } from './redis-exporter';
import { RedisQueueStore } from './redis-queue-store';
import { ConfigError } from './validation';
import { WorkflowDefinition } from '../protocol/workflows';

/** Label Grafana's dashboard sidecar watches ConfigMaps for (kube-prometheus-stack's default). */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';

/** Alert thresholds; see QueueAlertsOptions. */
export type QueueAlertThresholds = Pick<QueueAlertsOptions, 'expiredMarginSeconds' | 'noProgressHours' | 'recoveryStaleMinutes' | 'memoryRatio'>;

/** Monitoring of one environment, as `EnvironmentConfig.monitoring`. */
export interface QueueMonitoringProps {
  /**
   * The Redis exporter's settings (it is always deployed when monitoring is configured).
   * @default - see RedisExporterProps
   */
  readonly exporter?: Omit<RedisExporterProps, 'redis' | 'queues'>;
  /**
   * A Prometheus Operator ServiceMonitor for the exporter (needs the monitoring.coreos.com CRDs).
   * @default false
   */
  readonly serviceMonitor?: boolean;
  /**
   * A PrometheusRule with the recording rules and alerts (needs the monitoring.coreos.com CRDs).
   * @default false
   */
  readonly prometheusRule?: boolean;
  /**
   * Labels on the ServiceMonitor and PrometheusRule, for the Prometheus resource's
   * serviceMonitorSelector / ruleSelector (e.g. `{ release: 'kube-prometheus-stack' }`).
   * @default {}
   */
  readonly prometheusSelectorLabels?: Readonly<Record<string, string>>;
  /**
   * Scrape interval of the ServiceMonitor.
   * @default "30s"
   */
  readonly scrapeInterval?: string;
  /**
   * URL of this README as your team reads it (e.g. on your Git host): each alert's runbook_url
   * is `<url>#<alert name in lower case>`, its section under "Operations". Required when
   * `prometheusRule` is true.
   */
  readonly runbookUrl?: string;
  /** @default - see QueueAlertsOptions */
  readonly alerts?: QueueAlertThresholds;
  /**
   * A ConfigMap with the Grafana dashboard, labelled `grafana_dashboard: "1"` for Grafana's sidecar.
   * @default false
   */
  readonly dashboard?: boolean;
}

export interface QueueMonitoringConstructProps extends QueueMonitoringProps {
  readonly redis: RedisQueueStore;
  readonly workflows: readonly WorkflowDefinition[];
  readonly namespace: string;
  /** Recovery's grace period, for the expired-items alert. */
  readonly recoveryGraceSeconds: number;
}

/**
 * Metrics, alerts and a dashboard for the work queues of one environment: the Redis exporter,
 * and optionally a ServiceMonitor, a PrometheusRule and a Grafana dashboard ConfigMap.
 *
 * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitor
 * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PrometheusRule
 */
export class QueueMonitoring extends Construct {
  public readonly exporter: RedisExporter;
  public readonly scrapeInterval: string;
  public readonly prometheusSelectorLabels: Readonly<Record<string, string>>;
  /** The rule groups the PrometheusRule holds, when it is enabled. */
  public readonly ruleGroups?: readonly RuleGroup[];
  public readonly serviceMonitor?: ServiceMonitor;
  public readonly prometheusRule?: PrometheusRule;
  public readonly dashboardConfigMap?: kplus.ConfigMap;

  constructor(scope: Construct, id: string, props: QueueMonitoringConstructProps) {
    super(scope, id);
    this.scrapeInterval = props.scrapeInterval ?? '30s';
    if (!/^(\d+(ms|s|m|h))+$/.test(this.scrapeInterval)) {
      throw new ConfigError(`'monitoring.scrapeInterval' must be a Prometheus duration such as "30s" or "1m", got ${JSON.stringify(this.scrapeInterval)}`);
    }
    this.prometheusSelectorLabels = props.prometheusSelectorLabels ?? {};
    const queues = props.workflows.map((w) => w.queue);
    const labels = { ...componentLabels('redis-exporter', 'metrics'), ...this.prometheusSelectorLabels };

    this.exporter = new RedisExporter(this, 'exporter', { ...props.exporter, redis: props.redis, queues });

    if (props.serviceMonitor ?? false) {
      this.serviceMonitor = new ServiceMonitor(this, 'service-monitor', {
        metadata: { name: 'redis-exporter', labels },
        spec: {
          selector: { matchLabels: this.exporter.selectorLabels },
          endpoints: [{ port: 'metrics', path: '/metrics', interval: this.scrapeInterval, scrapeTimeout: '10s' }],
        },
      });
    }

    if (props.prometheusRule ?? false) {
      if (props.runbookUrl === undefined || !/^https?:\/\/\S+$/.test(props.runbookUrl)) {
        throw new ConfigError(`'monitoring.runbookUrl' must be the http(s) URL of the README (each alert links to its section) when 'prometheusRule' is true, got ${JSON.stringify(props.runbookUrl)}`);
      }
      const { memoryRatio, noProgressHours } = props.alerts ?? {};
      if (memoryRatio !== undefined && !(memoryRatio > 0 && memoryRatio < 1)) {
        throw new ConfigError(`'monitoring.alerts.memoryRatio' must be a number between 0 and 1 (exclusive), got ${JSON.stringify(memoryRatio)}`);
      }
      if (noProgressHours !== undefined && !(Number.isInteger(noProgressHours) && noProgressHours >= 1)) {
        throw new ConfigError(`'monitoring.alerts.noProgressHours' must be a positive integer, got ${JSON.stringify(noProgressHours)}`);
      }
      this.ruleGroups = queueAlertGroups({
        ...props.alerts,
        namespace: props.namespace,
        workflows: props.workflows,
        recoveryGraceSeconds: props.recoveryGraceSeconds,
        runbookUrl: props.runbookUrl,
      });
      this.prometheusRule = new PrometheusRule(this, 'rules', {
        metadata: { name: 'ard-workqueue', labels },
        spec: {
          groups: this.ruleGroups.map((group) => ({
            name: group.name,
            rules: group.rules.map((rule) => ({ ...rule, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(rule.expr) })),
          })),
        },
      });
    }

    if (props.dashboard ?? false) {
      const dashboard = queueDashboard({ namespace: props.namespace, queues, uid: `ard-workqueue-${props.namespace}`, title: `ARD work queue (${props.namespace})` });
      this.dashboardConfigMap = new kplus.ConfigMap(this, 'dashboard', {
        metadata: { name: 'ard-workqueue-dashboard', labels: { ...componentLabels('ard-workqueue-dashboard', 'metrics'), [GRAFANA_DASHBOARD_LABEL]: '1' } },
        data: { 'ard-workqueue.json': JSON.stringify(dashboard, undefined, 2) },
      });
    }
  }
}
