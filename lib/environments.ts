/**
 * The one typed place for configuration: which environments exist, and what each deploys.
 *
 * Each environment synthesizes to its own folder, `dist/<name>/`, and lives in its own
 * namespace, so environments that share a cluster do not collide.
 * Type-only imports keep this module free of side effects.
 */
import type { KedaOperatorProps } from './keda-operator';
import type { QueueMonitoringProps } from './queue-monitoring';
import type { QueueRecoveryProps } from './queue-recovery';
import type { RedisQueueStoreProps } from './redis-queue-store';
import type { WorkQueueJobProps } from './work-queue-job';
import type { KedaScalingProps } from './work-queue-scaled-job';
import { SENTINEL_2, WorkflowDefinition } from '../protocol/workflows';

/** One workflow deployed in an environment: the catalogue entry plus its Job settings. */
export interface WorkflowDeployment extends Omit<WorkQueueJobProps, 'workflow' | 'redis'> {
  readonly workflow: WorkflowDefinition;
  /**
   * `{ kind: 'keda', … }` runs the workers as a KEDA ScaledJob: workers start when the queue
   * has work, up to `maxReplicaCount` Jobs of one worker each (`parallelism` does not apply).
   * @default - one work-queue Job of `parallelism` workers
   */
  readonly scaling?: KedaScalingProps;
}

export interface EnvironmentConfig {
  /** Folder under dist/, and a DNS label. */
  readonly name: string;
  /** @default DEFAULT_NAMESPACE ("ard") */
  readonly namespace?: string;
  /** @default - see RedisQueueStoreProps; `queues` are the workflows' */
  readonly redis?: Omit<RedisQueueStoreProps, 'queues'>;
  /** Work-queue Jobs to run, one per workflow; each on its own queue. */
  readonly workflows: readonly WorkflowDeployment[];
  /** @default - see QueueRecoveryProps */
  readonly recovery?: Omit<QueueRecoveryProps, 'redis' | 'workflows'>;
  /** @default - no exporter, monitor, rules or dashboard */
  readonly monitoring?: QueueMonitoringProps;
  /**
   * The KEDA operator, used when a workflow has `scaling: { kind: 'keda' }`.
   * @default - see KedaOperatorProps: namespace "keda", ACL user "keda", Secret "redis-keda"
   */
  readonly keda?: KedaOperatorProps;
}

/** A developer's cluster: one worker, public data, a throw-away queue. */
export const DEV: EnvironmentConfig = {
  name: 'dev',
  namespace: 'ard-dev',
  redis: {
    storage: { kind: 'emptyDir', sizeLimit: '1Gi' },
    resources: { cpu: '100m', memory: '512Mi' },
  },
  workflows: [{
    workflow: SENTINEL_2,
    parallelism: 1,
    env: { AWS_NO_SIGN_REQUEST: 'YES' },
    credentialsOptional: true,
    logLevel: 'DEBUG',
    resources: { cpu: '1', memory: '4Gi' },
  }],
};

/** Production: a persistent queue and a worker per node, in the original's namespace `ard`. */
export const PROD: EnvironmentConfig = {
  name: 'prod',
  namespace: 'ard',
  redis: {
    storage: { kind: 'persistentVolumeClaim', size: '20Gi' },
    resources: { cpu: '500m', memory: '4Gi' },
  },
  workflows: [{
    workflow: SENTINEL_2,
    parallelism: 20,
    spreadAcrossNodes: true,
    resources: { cpu: '2', memory: '8Gi' },
    scratch: { sizeLimit: '50Gi' },
  }],
  monitoring: {
    serviceMonitor: true,
    prometheusRule: true,
    dashboard: true,
    runbookUrl: 'https://github.com/satapps/ard-workqueue/blob/main/README.md',
  },
};

/**
 * Enqueue and go: Sentinel-2 workers as a KEDA ScaledJob, started when scenes are enqueued,
 * none while the queue is empty. Needs KEDA in the cluster (namespace `keda`) and the Secret
 * `redis-keda` (README, "Workers: Job or KEDA ScaledJob").
 */
export const KEDA: EnvironmentConfig = {
  name: 'keda',
  namespace: 'ard-keda',
  redis: {
    storage: { kind: 'persistentVolumeClaim', size: '20Gi' },
    resources: { cpu: '500m', memory: '4Gi' },
  },
  workflows: [{
    workflow: SENTINEL_2,
    scaling: { kind: 'keda', maxReplicaCount: 20, pollingInterval: 30 },
    spreadAcrossNodes: true,
    resources: { cpu: '2', memory: '8Gi' },
    scratch: { sizeLimit: '50Gi' },
  }],
};

/** Every environment, in the order they are synthesized. */
export const ENVIRONMENTS: readonly EnvironmentConfig[] = [DEV, PROD, KEDA];
