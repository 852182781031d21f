import { DEV, EnvironmentConfig, PROD } from '../../lib/environments';
import { QueueMonitoringProps } from '../../lib/queue-monitoring';
import { DEFAULT_REDIS_EXPORTER_IMAGE, RedisExporterProps } from '../../lib/redis-exporter';
import { LANDSAT, SENTINEL_2 } from '../../protocol/workflows';
import { Manifest, ofKind, onlyOfKind } from '../support/manifests';
import { synthEnvironment } from '../support/synth';

const MONITORING_KINDS = ['ServiceMonitor', 'PrometheusRule'];
const named = (objects: Manifest[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const withMonitoring = (monitoring: QueueMonitoringProps | undefined, extra: Partial<EnvironmentConfig> = {}): Manifest[] =>
  synthEnvironment({ ...PROD, ...extra, monitoring }).objects;
const monitoringObjects = (objects: Manifest[]) => objects.filter((o) =>
  MONITORING_KINDS.includes(o.kind) || /^(redis-exporter|ard-workqueue-dashboard)/.test(o.metadata.name));

/** Every prop set, so a new prop cannot go untested. */
const ALL_EXPORTER_PROPS: Required<Omit<RedisExporterProps, 'redis' | 'queues'>> = {
  image: 'registry.example.com/oliver006/redis_exporter:v1.80.2',
  aclUser: 'metrics',
  passwordSecret: { name: 'redis-metrics', key: 'secret' },
  scrapers: { namespaceLabels: { team: 'observability' }, podLabels: { app: 'prometheus-k8s' } },
  resources: { cpu: '20m', memory: '128Mi', cpuLimit: '100m' },
};
const ALL_PROPS: Required<QueueMonitoringProps> = {
  exporter: ALL_EXPORTER_PROPS,
  serviceMonitor: true,
  prometheusRule: true,
  prometheusSelectorLabels: { release: 'kube-prometheus-stack' },
  scrapeInterval: '1m',
  runbookUrl: 'https://git.example.com/ard/README.md',
  alerts: { expiredMarginSeconds: 600, noProgressHours: 4, recoveryStaleMinutes: 30, memoryRatio: 0.9 },
  dashboard: true,
};

test('prod holds the exporter, its scrape policy, the monitor, the rules and the dashboard; dev none of them', () => {
  expect(named(monitoringObjects(synthEnvironment(PROD).objects))).toEqual([
    'ConfigMap/ard-workqueue-dashboard', 'ConfigMap/redis-exporter-script', 'Deployment/redis-exporter',
    'NetworkPolicy/redis-exporter-scrape', 'PrometheusRule/ard-workqueue', 'Service/redis-exporter', 'ServiceMonitor/redis-exporter',
  ]);
  expect(monitoringObjects(synthEnvironment(DEV).objects)).toEqual([]);
});

test('the monitor, rules and dashboard are each optional; the exporter comes with any monitoring', () => {
  expect(named(monitoringObjects(withMonitoring({})))).toEqual([
    'ConfigMap/redis-exporter-script', 'Deployment/redis-exporter', 'NetworkPolicy/redis-exporter-scrape', 'Service/redis-exporter',
  ]);
});

test('the exporter runs the pinned image as its ACL user, restricted, with every queue key checked', () => {
  const objects = withMonitoring({}, { workflows: [{ workflow: SENTINEL_2 }, { workflow: LANDSAT }] });
  const pod = onlyOfKind(objects, 'Deployment', 'redis-exporter').spec.template.spec;
  const [container] = pod.containers;
  expect(container.image).toBe(DEFAULT_REDIS_EXPORTER_IMAGE);
  expect(container.args).toEqual([
    '--redis.addr=redis://redis-master:6379',
    '--redis.user=exporter',
    '--web.listen-address=:9121',
    '--check-single-keys=jobS2,jobS2:processing,jobS2:dead_letter,jobS2:unleased_since,jobLS,jobLS:processing,jobLS:dead_letter,jobLS:unleased_since',
    '--script=/etc/redis-exporter/queue-metrics.lua',
    '--config-command=-',
    '--redis-only-metrics',
  ]);
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 59000, seccompProfile: { type: 'RuntimeDefault' } });
  expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  const script = onlyOfKind(objects, 'ConfigMap', 'redis-exporter-script').data['queue-metrics.lua'];
  expect(script.split('\n')[0]).toBe('local QUEUES = { "jobS2", "jobLS" }');
});

test('the NetworkPolicy admits only the metrics port, only from the Prometheus pods', () => {
  const policy = onlyOfKind(withMonitoring({}), 'NetworkPolicy', 'redis-exporter-scrape');
  expect(policy.spec).toEqual({
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis-exporter', 'app.kubernetes.io/instance': 'redis' } },
    policyTypes: ['Ingress'],
    ingress: [{
      from: [{
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      }],
      ports: [{ protocol: 'TCP', port: 9121 }],
    }],
  });
});

test('the ServiceMonitor scrapes the Service the exporter pods are behind, by its named port', () => {
  const objects = synthEnvironment(PROD).objects;
  const monitor = onlyOfKind(objects, 'ServiceMonitor', 'redis-exporter');
  const service = onlyOfKind(objects, 'Service', 'redis-exporter');
  expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
  expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
  expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain('metrics');
});

test('the dashboard ConfigMap carries the Grafana sidecar label and a dashboard per namespace', () => {
  const configMap = onlyOfKind(synthEnvironment(PROD).objects, 'ConfigMap', 'ard-workqueue-dashboard');
  expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
  const dashboard = JSON.parse(configMap.data['ard-workqueue.json']);
  expect([dashboard.uid, dashboard.panels.map((p: { title: string }) => p.title)]).toEqual(['ard-workqueue-ard', [
    'Items by state', 'Throughput (items/hour)', 'ETA (hours at the current throughput)', 'Progress (% done of recorded)',
    'Expired in processing and dead letters', 'Redis memory',
  ]]);
});

test('every prop lands in the output', () => {
  const objects = withMonitoring(ALL_PROPS);
  const deployment = onlyOfKind(objects, 'Deployment', 'redis-exporter');
  const [container] = deployment.spec.template.spec.containers;
  expect(container.image).toBe(ALL_EXPORTER_PROPS.image);
  expect(container.args).toContain('--redis.user=metrics');
  expect(container.env).toEqual([{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-metrics', key: 'secret' } } }]);
  expect(container.resources).toEqual({ requests: { cpu: '20m', memory: '128Mi' }, limits: { cpu: '100m', memory: '128Mi' } });
  expect(onlyOfKind(objects, 'NetworkPolicy', 'redis-exporter-scrape').spec.ingress[0].from)
    .toEqual([{ namespaceSelector: { matchLabels: { team: 'observability' } }, podSelector: { matchLabels: { app: 'prometheus-k8s' } } }]);
  const monitor = onlyOfKind(objects, 'ServiceMonitor', 'redis-exporter');
  const rule = onlyOfKind(objects, 'PrometheusRule', 'ard-workqueue');
  expect([monitor.metadata.labels.release, rule.metadata.labels.release]).toEqual(['kube-prometheus-stack', 'kube-prometheus-stack']);
  expect(monitor.spec.endpoints[0].interval).toBe('1m');
  const alerts = Object.fromEntries(rule.spec.groups[1].rules.map((r: { alert: string }) => [r.alert, r]));
  expect(alerts.ArdQueueItemsExpired.expr).toBe('ard_queue_unleased_seconds > 630');
  expect(alerts.ArdQueueNoProgress.for).toBe('4h');
  expect(alerts.ArdQueueRecoveryNotRun.expr).toContain('> 1800');
  expect(alerts.ArdRedisMemoryHigh.expr).toMatch(/ > 0\.9$/);
  expect(alerts.ArdWorkerJobFailed.annotations.runbook_url).toBe('https://git.example.com/ard/README.md#ardworkerjobfailed');
  expect(ofKind(objects, 'ConfigMap').some((c) => c.metadata.name === 'ard-workqueue-dashboard')).toBe(true);
});

describe('bad configuration is refused with a message naming the prop', () => {
  test.each<[string, QueueMonitoringProps, string]>([
    ['no runbook URL with rules on', { prometheusRule: true },
      "'monitoring.runbookUrl' must be the http(s) URL of the README (each alert links to its section) when 'prometheusRule' is true, got undefined"],
    ['memoryRatio above 1', { prometheusRule: true, runbookUrl: 'https://x.example/README.md', alerts: { memoryRatio: 80 } },
      "'monitoring.alerts.memoryRatio' must be a number between 0 and 1 (exclusive), got 80"],
    ['noProgressHours 0', { prometheusRule: true, runbookUrl: 'https://x.example/README.md', alerts: { noProgressHours: 0 } },
      "'monitoring.alerts.noProgressHours' must be a positive integer, got 0"],
    ['a scrape interval that is no duration', { scrapeInterval: '30 seconds' },
      '\'monitoring.scrapeInterval\' must be a Prometheus duration such as "30s" or "1m", got "30 seconds"'],
    ['an ACL user with a space', { exporter: { aclUser: 'redis exporter' } },
      '\'monitoring.exporter.aclUser\' must be lower-case letters, digits, \'-\' and \'_\' and not "default", got "redis exporter"'],
    ['an unpinned image', { exporter: { image: 'oliver006/redis_exporter:latest' } },
      '\'monitoring.exporter.image\' must be pinned by a tag other than \'latest\' (e.g. "satapps/ard-workflow-s2:0.4.0"), got "oliver006/redis_exporter:latest"'],
  ])('%s', (_what, monitoring, message) => {
    expect(() => withMonitoring(monitoring)).toThrow(message);
  });
});
