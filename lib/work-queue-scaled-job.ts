import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import * as keda from '../imports/keda.sh';
import { componentLabels } from './labels';
import {
  DEFAULT_KEDA_ACTIVATION_LIST_LENGTH, DEFAULT_KEDA_FAILED_JOBS_HISTORY_LIMIT, DEFAULT_KEDA_LIST_LENGTH, DEFAULT_KEDA_MAX_REPLICA_COUNT,
  DEFAULT_KEDA_POLLING_INTERVAL, DEFAULT_KEDA_SCALING_STRATEGY, DEFAULT_KEDA_SUCCESSFUL_JOBS_HISTORY_LIMIT,
} from './defaults';
import { ResolvedKedaOperator } from './keda-operator';
import { ConfigError, nonNegativeInteger, oneOf, positiveInteger } from './validation';
import { resolveWorkerJobSettings, WorkerJobSettings, WorkerJobSettingsProps, workerJobSpec } from './work-queue-job';
import { WorkerPod, WorkerPodProps } from './worker-pod';
import type { WorkflowDefinition } from '../protocol/workflows';

/** KEDA's scaling strategies that fit a queue whose workers remove what they take. */
export const KEDA_SCALING_STRATEGIES = ['default', 'accurate', 'eager'] as const;
export type KedaScalingStrategy = typeof KEDA_SCALING_STRATEGIES[number];

/**
 * Run a workflow's workers as a KEDA ScaledJob instead of one work-queue Job: no worker while
 * the queue is empty, one Job of one worker per `listLength` pending items, at most
 * `maxReplicaCount`.
 *
 * @see https://keda.sh/docs/latest/reference/scaledjob-spec/
 */
export interface KedaScalingProps {
  readonly kind: 'keda';
  /**
   * Most Jobs (one worker each) at once: the ceiling `parallelism` is in the Job mode.
   * @default DEFAULT_KEDA_MAX_REPLICA_COUNT (10)
   */
  readonly maxReplicaCount?: number;
  /**
   * Seconds between two looks at the queue: the longest wait for the first worker.
   * @default DEFAULT_KEDA_POLLING_INTERVAL (30)
   */
  readonly pollingInterval?: number;
  /**
   * How KEDA turns the pending count into new Jobs (`custom` is not offered).
   * @default DEFAULT_KEDA_SCALING_STRATEGY ("accurate")
   */
  readonly scalingStrategy?: KedaScalingStrategy;
  /** @default DEFAULT_KEDA_SUCCESSFUL_JOBS_HISTORY_LIMIT (10) */
  readonly successfulJobsHistoryLimit?: number;
  /** @default DEFAULT_KEDA_FAILED_JOBS_HISTORY_LIMIT (10) */
  readonly failedJobsHistoryLimit?: number;
  /**
   * Pending items per worker KEDA aims at (the redis scaler's `listLength`).
   * @default DEFAULT_KEDA_LIST_LENGTH (1)
   */
  readonly listLength?: number;
  /**
   * KEDA starts workers only when more items than this are pending (`activationListLength`).
   * @default DEFAULT_KEDA_ACTIVATION_LIST_LENGTH (0)
   */
  readonly activationListLength?: number;
}

export interface WorkQueueScaledJobProps extends WorkerPodProps, WorkerJobSettingsProps {
  readonly scaling: KedaScalingProps;
  /** The KEDA operator's Redis user and its password Secret (lib/keda-operator.ts). */
  readonly keda: ResolvedKedaOperator;
}

/**
 * A workflow's workers as a KEDA `ScaledJob`: the KEDA operator polls the length of the
 * workflow's list through the `redis-master` Service and creates Jobs of one worker pod each,
 * the same pod as the work-queue Job's ({@link WorkerPod}), which loops until the queue is
 * empty. The scaler logs in as its own ACL user; its password comes from a Secret through a
 * `TriggerAuthentication`. A new pod template reaches new Jobs only; running Jobs finish
 * (`rollout.strategy: gradual`).
 *
 * @see https://keda.sh/docs/latest/reference/scaledjob-spec/
 * @see https://keda.sh/docs/latest/scalers/redis-lists/
 */
export class WorkQueueScaledJob extends Construct {
  public readonly workflow: WorkflowDefinition;
  public readonly maxReplicaCount: number;
  public readonly pollingInterval: number;
  public readonly scalingStrategy: KedaScalingStrategy;
  public readonly successfulJobsHistoryLimit: number;
  public readonly failedJobsHistoryLimit: number;
  public readonly listLength: number;
  public readonly activationListLength: number;
  /** Settings of each Job KEDA creates (parallelism 1). */
  public readonly jobSettings: WorkerJobSettings;
  /** Whether the worker pods pass the restricted Pod Security Standard. */
  public readonly meetsRestrictedProfile: boolean;
  /** The worker pod, the same as a work-queue Job's. */
  public readonly pod: WorkerPod;
  /** `<workflow>-worker`. */
  public readonly scaledJobName: string;
  /** `host:port` of the Redis client Service, as the operator resolves it from its namespace. */
  public readonly redisAddress: string;
  /**
   * The `keda.sh/v1alpha1` ScaledJob. A plain ApiObject: the import's class would pass the
   * finished pod template through KEDA's copy of the Kubernetes types again.
   */
  public readonly scaledJob: ApiObject;
  public readonly triggerAuthentication: keda.TriggerAuthentication;

  constructor(scope: Construct, id: string, props: WorkQueueScaledJobProps) {
    super(scope, id);
    this.workflow = props.workflow;
    this.pod = new WorkerPod(this, props);
    this.meetsRestrictedProfile = this.pod.meetsRestrictedProfile;
    const name = this.pod.name;
    const field = (f: string) => `workflows.${name}.${f}`;
    if ((props as { parallelism?: number }).parallelism !== undefined) {
      throw new ConfigError(
        `'${field('parallelism')}' does not apply with 'scaling.kind' "keda" (each Job KEDA creates runs one worker): set 'scaling.maxReplicaCount' instead`,
      );
    }
    const scaling = props.scaling;
    oneOf(field('scaling.kind'), scaling.kind, ['keda']);
    this.maxReplicaCount = positiveInteger(field('scaling.maxReplicaCount'), scaling.maxReplicaCount ?? DEFAULT_KEDA_MAX_REPLICA_COUNT);
    this.pollingInterval = positiveInteger(field('scaling.pollingInterval'), scaling.pollingInterval ?? DEFAULT_KEDA_POLLING_INTERVAL);
    this.scalingStrategy = oneOf(field('scaling.scalingStrategy'), scaling.scalingStrategy ?? DEFAULT_KEDA_SCALING_STRATEGY, KEDA_SCALING_STRATEGIES);
    this.successfulJobsHistoryLimit = nonNegativeInteger(field('scaling.successfulJobsHistoryLimit'),
      scaling.successfulJobsHistoryLimit ?? DEFAULT_KEDA_SUCCESSFUL_JOBS_HISTORY_LIMIT);
    this.failedJobsHistoryLimit = nonNegativeInteger(field('scaling.failedJobsHistoryLimit'),
      scaling.failedJobsHistoryLimit ?? DEFAULT_KEDA_FAILED_JOBS_HISTORY_LIMIT);
    this.listLength = positiveInteger(field('scaling.listLength'), scaling.listLength ?? DEFAULT_KEDA_LIST_LENGTH);
    this.activationListLength = nonNegativeInteger(field('scaling.activationListLength'),
      scaling.activationListLength ?? DEFAULT_KEDA_ACTIVATION_LIST_LENGTH);
    this.jobSettings = resolveWorkerJobSettings(name, props, 1);

    const namespace = Chart.of(this).namespace;
    if (namespace === undefined) throw new ConfigError(`the chart of the ScaledJob of '${name}' must have a namespace: the KEDA operator reaches Redis by its namespaced DNS name`);
    this.redisAddress = `${props.redis.serviceHost}.${namespace}.svc.cluster.local:${props.redis.port}`;
    this.scaledJobName = `${name}-worker`;
    const labels = { ...componentLabels('ard-worker', 'worker'), ...this.pod.selectorLabels };

    this.triggerAuthentication = new keda.TriggerAuthentication(this, 'redis-auth', {
      metadata: { name: `${this.scaledJobName}-redis`, labels },
      spec: {
        secretTargetRef: [{ parameter: 'password', name: props.keda.passwordSecret.name, key: props.keda.passwordSecret.key }],
      },
    });

    const spec = keda.toJson_ScaledJobSpec({
      // The template is set below, as the Job mode writes it (one builder, one JSON).
      jobTargetRef: { ...workerJobSpec(this.jobSettings, 1), template: {} },
      pollingInterval: this.pollingInterval,
      minReplicaCount: 0,
      maxReplicaCount: this.maxReplicaCount,
      successfulJobsHistoryLimit: this.successfulJobsHistoryLimit,
      failedJobsHistoryLimit: this.failedJobsHistoryLimit,
      // A new pod template reaches new Jobs; running workers finish their scenes.
      rollout: { strategy: keda.ScaledJobSpecRolloutStrategy.GRADUAL },
      scalingStrategy: { strategy: this.scalingStrategy as keda.ScaledJobSpecScalingStrategyStrategy },
      triggers: [{
        type: 'redis',
        name: 'queue',
        metadata: {
          address: this.redisAddress,
          listName: props.workflow.queue,
          listLength: String(this.listLength),
          activationListLength: String(this.activationListLength),
          username: props.keda.aclUser,
        },
        authenticationRef: { name: this.triggerAuthentication.name },
      }],
    })!;
    this.scaledJob = new ApiObject(this, 'scaled-job', {
      ...keda.ScaledJob.GVK,
      metadata: { name: this.scaledJobName, labels },
      spec: { ...spec, jobTargetRef: { ...spec.jobTargetRef, template: this.pod.manifest() } },
    });
  }
}
