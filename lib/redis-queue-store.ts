import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { componentLabels } from './labels';
import { DEFAULT_APPEND_FSYNC, DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT, DEFAULT_REDIS_RESOURCES, DEFAULT_REDIS_STORAGE, DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS } from './defaults';
import { ContainerResources, REDIS_UID, RESTRICTED_CONTAINER_SECURITY_CONTEXT, resourceRequirements, restrictedPodSecurityContext } from './pod-security';
import { AppendFsync, DEFAULT_DISABLED_COMMANDS, renderRedisConfig } from './redis-config';
import { ConfigError, oneOf, pinnedImage, positiveInteger, quantityBytes } from './validation';

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
    /** @default - the cluster's default storage class */
    readonly storageClassName?: string;
  }
  | {
    /** An emptyDir: the queue is lost with the pod. For development, like the original chart. */
    readonly kind: 'emptyDir';
    /** @default DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT ("1Gi") */
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
   * @default DEFAULT_REDIS_STORAGE ({ kind: 'persistentVolumeClaim', size: '10Gi' })
   */
  readonly storage?: RedisStorage;
  /**
   * cpu and memory of the Redis container. Redis's `maxmemory` is half the memory limit:
   * an AOF rewrite forks, and copy-on-write can double the footprint meanwhile.
   * @default DEFAULT_REDIS_RESOURCES ({ cpu: '250m', memory: '2Gi' })
   */
  readonly resources?: ContainerResources;
  /**
   * fsync policy of the append-only file.
   * @default DEFAULT_APPEND_FSYNC ('always') — an acknowledged write survives a crash of Redis or of its node
   */
  readonly appendFsync?: AppendFsync;
  /**
   * Commands renamed away, so nobody can run them by accident.
   * @default DEFAULT_DISABLED_COMMANDS
   */
  readonly disabledCommands?: readonly string[];
  /**
   * Seconds Kubernetes waits after SIGTERM, during which Redis fsyncs its AOF and exits.
   * @default DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS (60)
   */
  readonly terminationGracePeriodSeconds?: number;
}

/**
 * Redis as the work-queue store: a ConfigMap with redis.conf, a one-replica StatefulSet,
 * its headless Service, and the client Service `redis-master` that workers connect to.
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

  constructor(scope: Construct, id: string, props: RedisQueueStoreProps = {}) {
    super(scope, id);
    this.image = pinnedImage('redis.image', props.image ?? DEFAULT_REDIS_IMAGE);
    this.storage = props.storage ?? DEFAULT_REDIS_STORAGE;
    this.resources = props.resources ?? DEFAULT_REDIS_RESOURCES;
    this.appendFsync = oneOf('redis.appendFsync', props.appendFsync ?? DEFAULT_APPEND_FSYNC, ['always', 'everysec']);
    this.disabledCommands = props.disabledCommands ?? DEFAULT_DISABLED_COMMANDS;
    const gracePeriod = positiveInteger('redis.terminationGracePeriodSeconds', props.terminationGracePeriodSeconds ?? DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS);
    quantityBytes('redis.storage.' + (this.storage.kind === 'emptyDir' ? 'sizeLimit' : 'size'),
      this.storage.kind === 'emptyDir' ? this.storage.sizeLimit ?? DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT : this.storage.size);
    if (this.disabledCommands.some((c) => c.toUpperCase() === 'PING')) {
      throw new ConfigError("'redis.disabledCommands' must not contain PING: the probes and the workers' init container need it");
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
                ? [{ name: dataVolume, emptyDir: { sizeLimit: k8s.Quantity.fromString(this.storage.sizeLimit ?? DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT) } }]
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
  }
}
