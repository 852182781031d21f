import { createHash } from 'crypto';
import * as path from 'path';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { componentLabels, REDIS_CLIENT_LABEL } from './labels';
import { ContainerResources, RESTRICTED_CONTAINER_SECURITY_CONTEXT, resourceRequirements, restrictedPodSecurityContext } from './pod-security';
import { checkedKeys, exporterAclRules, QUEUE_METRICS_SCRIPT, renderQueueMetricsScript } from './queue-metrics';
import { aclUserName, type RedisAclUser } from './redis-acl';
import { RedisQueueStore } from './redis-queue-store';
import { ConfigError, dnsLabel, pinnedImage } from './validation';

/** oliver006/redis_exporter, the exporter the Bitnami Redis chart ships; scratch image, runs as 59000. */
export const DEFAULT_REDIS_EXPORTER_IMAGE = 'oliver006/redis_exporter:v1.88.0';

/** uid and gid the redis_exporter image runs as (`USER 59000:59000` in its Dockerfile). */
export const REDIS_EXPORTER_UID = 59000;

export const METRICS_PORT = 9121;

/** Name of the exporter's Redis ACL user. */
export const DEFAULT_EXPORTER_ACL_USER = 'exporter';

/** A key of a Secret created by the operator, out of band. */
export interface SecretKey {
  readonly name: string;
  readonly key: string;
}

/** Who may scrape the exporter: pods matching both selectors (an unset selector matches all). */
export interface ScraperSelector {
  /**
   * Labels of the namespace Prometheus runs in.
   * @default { 'kubernetes.io/metadata.name': 'monitoring' }
   */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /**
   * Labels of the Prometheus pods.
   * @default { 'app.kubernetes.io/name': 'prometheus' } (the Prometheus Operator's pods)
   */
  readonly podLabels?: Readonly<Record<string, string>>;
}

/** Where the exporter's password is: a Secret the operator creates. */
export const DEFAULT_EXPORTER_PASSWORD_SECRET: SecretKey = { name: 'redis-exporter', key: 'password' };

/**
 * The ACL user the exporter logs in as, for `RedisQueueStoreProps.users`: Redis must know it
 * before the exporter exists, so the chart derives it from the same props.
 */
export function exporterAclUser(props: Pick<RedisExporterProps, 'aclUser' | 'passwordSecret'>, queues: readonly string[]): RedisAclUser {
  return {
    name: exporterUserName(props.aclUser),
    rules: exporterAclRules(queues),
    passwordSecret: props.passwordSecret ?? DEFAULT_EXPORTER_PASSWORD_SECRET,
  };
}

function exporterUserName(name: string = DEFAULT_EXPORTER_ACL_USER): string {
  return aclUserName('monitoring.exporter.aclUser', name);
}

export interface RedisExporterProps {
  /** The queue store to export. */
  readonly redis: RedisQueueStore;
  /** Queue names whose lengths, dedupe record and recovery state are exported. */
  readonly queues: readonly string[];
  /**
   * Exporter image, pinned by tag.
   * @default DEFAULT_REDIS_EXPORTER_IMAGE
   */
  readonly image?: string;
  /**
   * Redis ACL user the exporter logs in as; Redis must define it with `exporterAclRules`.
   * @default DEFAULT_EXPORTER_ACL_USER
   */
  readonly aclUser?: string;
  /**
   * Secret key holding that user's password, created by the operator (never in git or dist/).
   * @default { name: 'redis-exporter', key: 'password' }
   */
  readonly passwordSecret?: SecretKey;
  /**
   * Where Prometheus scrapes from: the only source the NetworkPolicy admits to the metrics port.
   * @default - see ScraperSelector
   */
  readonly scrapers?: ScraperSelector;
  /**
   * cpu and memory of the exporter container.
   * @default { cpu: '10m', memory: '64Mi' }
   */
  readonly resources?: ContainerResources;
}

/**
 * oliver006/redis_exporter next to the queue store, as its own Deployment: a new exporter
 * version or flag then rolls the exporter only, never the Redis pod (a Redis restart can cost
 * a worker its item), and the StatefulSet stays as it is with monitoring on or off.
 *
 * It logs in as its own ACL user (password from a Secret), checks each queue's lists with
 * `--check-single-keys`, and runs lib/lua/queue-metrics.lua (mounted from a ConfigMap) for a
 * consistent snapshot of pending, processing, dead letters, done and recovery's oldest
 * unleased item. A NetworkPolicy admits only the configured Prometheus to its metrics port.
 *
 * @see https://github.com/oliver006/redis_exporter
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
export class RedisExporter extends Construct {
  public readonly image: string;
  public readonly aclUser: string;
  public readonly passwordSecret: SecretKey;
  public readonly scrapers: Required<ScraperSelector>;
  public readonly resources: ContainerResources;
  public readonly port: number = METRICS_PORT;
  /** The metrics script as mounted (queue names prepended). */
  public readonly script: string;
  /** Labels of the exporter pods; `selectorLabels` is the subset that selects them. */
  public readonly podLabels: Record<string, string>;
  public readonly selectorLabels: Record<string, string>;
  public readonly scriptConfigMap: kplus.ConfigMap;
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly policy: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: RedisExporterProps) {
    super(scope, id);
    this.image = pinnedImage('monitoring.exporter.image', props.image ?? DEFAULT_REDIS_EXPORTER_IMAGE);
    this.aclUser = exporterUserName(props.aclUser);
    this.passwordSecret = props.passwordSecret ?? DEFAULT_EXPORTER_PASSWORD_SECRET;
    dnsLabel('monitoring.exporter.passwordSecret.name', this.passwordSecret.name, 253);
    this.scrapers = {
      namespaceLabels: props.scrapers?.namespaceLabels ?? { 'kubernetes.io/metadata.name': 'monitoring' },
      podLabels: props.scrapers?.podLabels ?? { 'app.kubernetes.io/name': 'prometheus' },
    };
    this.resources = props.resources ?? { cpu: '10m', memory: '64Mi' };
    if (props.queues.length === 0) throw new ConfigError("'monitoring' needs at least one workflow to export");

    const { redis } = props;
    this.script = renderQueueMetricsScript(props.queues);
    this.podLabels = { ...componentLabels('redis-exporter', 'metrics'), 'app.kubernetes.io/instance': 'redis' };
    this.selectorLabels = { 'app.kubernetes.io/name': 'redis-exporter', 'app.kubernetes.io/instance': 'redis' };

    const scriptFile = path.basename(QUEUE_METRICS_SCRIPT);
    this.scriptConfigMap = new kplus.ConfigMap(this, 'script', {
      metadata: { name: 'redis-exporter-script', labels: this.podLabels },
      data: { [scriptFile]: this.script },
    });

    const scriptDir = '/etc/redis-exporter';
    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: 'redis-exporter', labels: this.podLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: this.selectorLabels },
        template: {
          metadata: {
            labels: { ...this.podLabels, [REDIS_CLIENT_LABEL]: 'true' },
            // The exporter reads the script at start: a changed script rolls the pod.
            annotations: { 'checksum/script': createHash('sha256').update(this.script).digest('hex') },
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(REDIS_EXPORTER_UID),
            containers: [{
              name: 'exporter',
              image: this.image,
              imagePullPolicy: 'IfNotPresent',
              // Flags that Debian's 1.45 (the tests' exporter) and the pinned release both know.
              args: [
                `--redis.addr=redis://${redis.serviceHost}:${redis.port}`,
                `--redis.user=${this.aclUser}`,
                `--web.listen-address=:${METRICS_PORT}`,
                `--check-single-keys=${props.queues.flatMap(checkedKeys).join(',')}`,
                `--script=${scriptDir}/${scriptFile}`,
                // CONFIG is disabled in our redis.conf: "-" skips CONFIG GET (1.45 sends "-",
                // which Redis answers "unknown command", logged at debug level only).
                '--config-command=-',
                '--redis-only-metrics',
              ],
              env: [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: this.passwordSecret.name, key: this.passwordSecret.key } } }],
              ports: [{ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }],
              resources: resourceRequirements(this.resources),
              securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
              // /health answers without touching Redis: a Redis outage shows as redis_up 0, not as restarts.
              readinessProbe: { httpGet: { path: '/health', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 10, timeoutSeconds: 2 },
              livenessProbe: { httpGet: { path: '/health', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
              volumeMounts: [{ name: 'script', mountPath: scriptDir, readOnly: true }],
            }],
            volumes: [{ name: 'script', configMap: { name: this.scriptConfigMap.name } }],
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata: { name: 'redis-exporter', labels: this.podLabels },
      spec: {
        type: 'ClusterIP',
        selector: this.selectorLabels,
        ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' }],
      },
    });

    this.policy = new k8s.KubeNetworkPolicy(this, 'policy', {
      metadata: { name: 'redis-exporter-scrape', labels: this.podLabels },
      spec: {
        podSelector: { matchLabels: this.selectorLabels },
        policyTypes: ['Ingress'],
        ingress: [{
          from: [{
            namespaceSelector: { matchLabels: { ...this.scrapers.namespaceLabels } },
            podSelector: { matchLabels: { ...this.scrapers.podLabels } },
          }],
          ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(METRICS_PORT) }],
        }],
      },
    });
  }
}
