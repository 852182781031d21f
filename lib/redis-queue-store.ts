import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { componentLabels } from './labels';
import { ContainerResources, REDIS_UID, RESTRICTED_CONTAINER_SECURITY_CONTEXT, resourceRequirements, restrictedPodSecurityContext } from './pod-security';
import { AppendFsync, DEFAULT_DISABLED_COMMANDS, renderRedisConfig } from './redis-config';
import { ConfigError, dnsSubdomain, oneOf, pinnedImage, positiveInteger, quantityBytes } from './validation';

/** Official Redis image (Debian variant: its `redis` user is uid/gid 999). */
export const DEFAULT_REDIS_IMAGE = 'redis:7.2.7-bookworm';

/** The client Service name the worker images connect to (`$REDIS_SERVICE_HOST`). Fixed by the images. */
export const REDIS_SERVICE_NAME = 'redis-master';

export const REDIS_PORT = 6379;

/** Where Redis keeps its data. */
export type RedisStorage =
  | {
    /** A PersistentVolumeClaim per replica (volumeClaimTemplate): the queue survives pod and node loss. */
    readonly kind: 'persistentVolumeClaim';
    /** e.g. `"10Gi"`. Budget roughly 1 GiB of AOF per million queued scenes. */
    readonly size: string;
    /**
     * Use a class with `reclaimPolicy: Retain` and `volumeBindingMode: WaitForFirstConsumer`
     * (README, "Storage class"), on network-attached disks that can move to another node.
     * @default - the cluster's default storage class
     */
    readonly storageClassName?: string;
  }
  | {
    /** An emptyDir: the queue is lost with the pod. For development, like the original chart. */
    readonly kind: 'emptyDir';
    /** @default "1Gi" */
    readonly sizeLimit?: string;
  };

export interface RedisQueueStoreProps {
  /**
   * Redis image, pinned by tag (7.2 or later).
   * @default DEFAULT_REDIS_IMAGE
   */
  readonly image?: string;
  /**
   * Where Redis keeps its append-only file.
   * @default { kind: 'persistentVolumeClaim', size: '10Gi' }
   */
  readonly storage?: RedisStorage;
  /**
   * cpu and memory of the Redis container. Redis's `maxmemory` is half the memory limit:
   * an AOF rewrite forks, and copy-on-write can double the footprint meanwhile.
   * @default { cpu: '250m', memory: '2Gi' }
   */
  readonly resources?: ContainerResources;
  /**
   * fsync policy of the append-only file.
   * @default 'always' — an acknowledged write survives a crash of Redis or of its node
   */
  readonly appendFsync?: AppendFsync;
  /**
   * Commands renamed away, so nobody can run them by accident.
   * @default DEFAULT_DISABLED_COMMANDS
   */
  readonly disabledCommands?: readonly string[];
  /**
   * Seconds Kubernetes waits after SIGTERM, during which Redis fsyncs its AOF and exits.
   * @default 60
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * PriorityClass of the Redis pod, so that the scheduler preempts workers rather than the
   * queue they all depend on. The class is created by the cluster operator.
   * @default - none (the cluster's default priority)
   */
  readonly priorityClassName?: string;
  /** @default - any node */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** @default - none */
  readonly tolerations?: readonly k8s.Toleration[];
  /**
   * Affinity rules, as Kubernetes takes them (e.g. keep Redis off spot nodes).
   * @default - none
   */
  readonly affinity?: k8s.Affinity;
}

/**
 * Redis as the work-queue store: a ConfigMap with redis.conf, a one-replica StatefulSet,
 * its headless Service, the client Service `redis-master` that workers connect to, and a
 * PodDisruptionBudget that refuses every voluntary eviction of the one replica (a drain waits
 * until an operator moves Redis deliberately, README "Redis and node drains").
 * The data volume claim is retained when the StatefulSet is deleted or scaled down.
 *
 * @see https://kubernetes.io/docs/tasks/job/fine-parallel-processing-work-queue/
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/
 */
export class RedisQueueStore extends Construct {
  public readonly image: string;
  public readonly storage: RedisStorage;
  public readonly resources: ContainerResources;
  public readonly appendFsync: AppendFsync;
  public readonly disabledCommands: readonly string[];
  public readonly redisConfig: string;
  /** Host name that clients in the namespace use: `redis-master`. */
  public readonly serviceHost: string = REDIS_SERVICE_NAME;
  public readonly port: number = REDIS_PORT;
  /** Labels of the Redis pod. */
  public readonly podLabels: Record<string, string>;
  /** The subset of `podLabels` that selects the Redis pod (Services, NetworkPolicies). */
  public readonly selectorLabels: Record<string, string>;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly headlessService: k8s.KubeService;
  public readonly service: k8s.KubeService;
  public readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;
  public readonly priorityClassName?: string;

  constructor(scope: Construct, id: string, props: RedisQueueStoreProps = {}) {
    super(scope, id);
    this.image = pinnedImage('redis.image', props.image ?? DEFAULT_REDIS_IMAGE);
    this.storage = props.storage ?? { kind: 'persistentVolumeClaim', size: '10Gi' };
    this.resources = props.resources ?? { cpu: '250m', memory: '2Gi' };
    this.appendFsync = oneOf('redis.appendFsync', props.appendFsync ?? 'always', ['always', 'everysec']);
    this.disabledCommands = props.disabledCommands ?? DEFAULT_DISABLED_COMMANDS;
    const gracePeriod = positiveInteger('redis.terminationGracePeriodSeconds', props.terminationGracePeriodSeconds ?? 60);
    this.priorityClassName = props.priorityClassName === undefined
      ? undefined
      : dnsSubdomain('redis.priorityClassName', props.priorityClassName);
    quantityBytes('redis.storage.' + (this.storage.kind === 'emptyDir' ? 'sizeLimit' : 'size'),
      this.storage.kind === 'emptyDir' ? this.storage.sizeLimit ?? '1Gi' : this.storage.size);
    if (this.disabledCommands.some((c) => c.toUpperCase() === 'PING')) {
      throw new ConfigError("'redis.disabledCommands' must not contain PING: the probes and the workers' init container need it");
    }
    if (this.disabledCommands.some((c) => c.toUpperCase() === 'LLEN')) {
      throw new ConfigError("'redis.disabledCommands' must not contain LLEN: the workers and their wait-for-work gate need it");
    }

    const dataDir = '/data';
    this.redisConfig = renderRedisConfig({
      port: REDIS_PORT,
      maxMemoryBytes: Math.floor(quantityBytes('redis.resources.memory', this.resources.memory) / 2),
      appendFsync: this.appendFsync,
      disabledCommands: this.disabledCommands,
    });

    this.podLabels = { ...componentLabels('redis', 'queue-store'), 'app.kubernetes.io/instance': 'redis' };
    this.selectorLabels = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis' };
    const selector = this.selectorLabels;

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: 'redis-config', labels: this.podLabels },
      data: { 'redis.conf': this.redisConfig },
    });

    const port = { name: 'redis', port: REDIS_PORT, targetPort: k8s.IntOrString.fromString('redis'), protocol: 'TCP' };
    this.headlessService = new k8s.KubeService(this, 'headless', {
      metadata: { name: 'redis-headless', labels: this.podLabels },
      spec: { clusterIp: 'None', selector, ports: [port] },
    });
    this.service = new k8s.KubeService(this, 'service', {
      metadata: { name: REDIS_SERVICE_NAME, labels: this.podLabels },
      spec: { type: 'ClusterIP', selector, ports: [port] },
    });

    const dataVolume = 'data';
    const ping = (accept: string) => ({
      exec: { command: ['sh', '-c', `r="$(redis-cli -p ${REDIS_PORT} ping)"; ${accept}`] },
    });

    this.statefulSet = new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: { name: 'redis', labels: this.podLabels },
      spec: {
        serviceName: this.headlessService.name,
        replicas: 1,
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate' },
        // Stated, not left to the cluster's default: the queue's data outlives the StatefulSet.
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: {
            labels: this.podLabels,
            // A changed redis.conf changes this hash, which rolls the pod so Redis reads it.
            annotations: { 'checksum/redis-config': createHash('sha256').update(this.redisConfig).digest('hex') },
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(REDIS_UID),
            // On SIGTERM Redis fsyncs the AOF and exits; give it time on a slow disk.
            terminationGracePeriodSeconds: gracePeriod,
            priorityClassName: this.priorityClassName,
            nodeSelector: props.nodeSelector ? { ...props.nodeSelector } : undefined,
            tolerations: props.tolerations ? [...props.tolerations] : undefined,
            affinity: props.affinity,
            containers: [{
              name: 'redis',
              image: this.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['redis-server', '/etc/redis/redis.conf', '--dir', dataDir],
              ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
              resources: resourceRequirements(this.resources),
              securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
              readinessProbe: { ...ping('[ "$r" = PONG ]'), initialDelaySeconds: 2, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
              // Loading a large AOF answers LOADING: alive, just not ready yet.
              livenessProbe: {
                ...ping('[ "$r" = PONG ] || [ "${r#LOADING}" != "$r" ]'),
                initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6,
              },
              volumeMounts: [
                { name: dataVolume, mountPath: dataDir },
                { name: 'config', mountPath: '/etc/redis', readOnly: true },
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: this.configMap.name } },
              ...(this.storage.kind === 'emptyDir'
                ? [{ name: dataVolume, emptyDir: { sizeLimit: k8s.Quantity.fromString(this.storage.sizeLimit ?? '1Gi') } }]
                : []),
            ],
          },
        },
        volumeClaimTemplates: this.storage.kind === 'persistentVolumeClaim'
          ? [{
            metadata: { name: dataVolume, labels: this.podLabels },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: this.storage.storageClassName,
              resources: { requests: { storage: k8s.Quantity.fromString(this.storage.size) } },
            },
          }]
          : undefined,
      },
    });

    this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: { name: 'redis', labels: this.podLabels },
      // One replica and no voluntary eviction: `kubectl drain` waits on this node until Redis
      // is moved on purpose, instead of taking the queue away from every worker.
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(0), selector: { matchLabels: selector } },
    });
  }
}
