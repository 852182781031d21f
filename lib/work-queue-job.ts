import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import type { ResolvedLeaseHeartbeat } from './lease-heartbeat';
import { componentLabels } from './labels';
import { BACKOFF_LIMIT_PER_WORKER, DEFAULT_PARALLELISM, DEFAULT_TTL_SECONDS_AFTER_FINISHED } from './defaults';
import { nonNegativeInteger, positiveInteger } from './validation';
import { WorkerPod, WorkerPodProps } from './worker-pod';
import type { WorkflowDefinition } from '../protocol/workflows';

/** Label on every worker Job: the hash of its pod template, also the end of the Job's name. */
export const TEMPLATE_HASH_LABEL = 'ard-workqueue/template-hash';

/** The settings of one worker Job that are not its pod: the same in both modes. */
export interface WorkerJobSettingsProps {
  /**
   * Failed worker pods before the whole Job is marked failed and all its workers stop.
   * Disruptions (drains, preemption, API evictions) never count: the pod failure policy
   * ignores them. A Redis restart costs about one failed pod per running worker, an OOM kill
   * or a crash one; dead-lettering stops a poison item after `recovery.maxAttempts`.
   * @default BACKOFF_LIMIT_PER_WORKER × parallelism (10 × parallelism; 10 for a ScaledJob's Jobs)
   */
  readonly backoffLimit?: number;
  /**
   * Seconds a finished Job (and its pods' logs) stays before Kubernetes deletes it. After
   * that, applying the workers stage again creates the Job anew: its pods wait at the gate
   * for work, at most `waitForWorkSeconds`, and complete at once on an empty queue.
   * @default DEFAULT_TTL_SECONDS_AFTER_FINISHED (86400: one day)
   */
  readonly ttlSecondsAfterFinished?: number;
  /**
   * Hard wall-clock limit of the whole Job.
   * @default - none: a campaign takes as long as it takes
   */
  readonly activeDeadlineSeconds?: number;
}

export interface WorkQueueJobProps extends WorkerPodProps, WorkerJobSettingsProps {
  /**
   * Worker pods running at once. Mutable on a running Job: changing it keeps the Job's name.
   * @default DEFAULT_PARALLELISM (1)
   */
  readonly parallelism?: number;
}

/** A worker Job's settings, resolved and validated (see {@link workerJobSpec}). */
export interface WorkerJobSettings {
  readonly backoffLimit: number;
  readonly ttlSecondsAfterFinished: number;
  readonly activeDeadlineSeconds?: number;
}

/** Resolves and validates the Job settings of workflow `name` with `parallelism` workers a Job. */
export function resolveWorkerJobSettings(name: string, props: WorkerJobSettingsProps, parallelism: number): WorkerJobSettings {
  const field = (f: string) => `workflows.${name}.${f}`;
  return {
    backoffLimit: nonNegativeInteger(field('backoffLimit'), props.backoffLimit ?? BACKOFF_LIMIT_PER_WORKER * parallelism),
    ttlSecondsAfterFinished: nonNegativeInteger(field('ttlSecondsAfterFinished'), props.ttlSecondsAfterFinished ?? DEFAULT_TTL_SECONDS_AFTER_FINISHED),
    activeDeadlineSeconds: props.activeDeadlineSeconds === undefined
      ? undefined
      : positiveInteger(field('activeDeadlineSeconds'), props.activeDeadlineSeconds),
  };
}

/**
 * The failure semantics of every worker Job, whoever creates it (this construct or KEDA):
 * `completions` unset, `backoffLimit`, disruptions not counted, TTL after finishing.
 */
export function workerJobSpec(settings: WorkerJobSettings, parallelism: number) {
  return {
    parallelism,
    // completions unset: the work-queue pattern; the Job succeeds when a worker exits 0
    // (the queue is empty) and the others have finished.
    backoffLimit: settings.backoffLimit,
    // Drains, preemption and API evictions are not the worker's fault: retry without
    // counting them against backoffLimit.
    podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
    ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
    activeDeadlineSeconds: settings.activeDeadlineSeconds,
  };
}

/**
 * One work-queue Job for one workflow: `parallelism` workers, `completions` unset, each
 * worker taking items from the workflow's Redis list until it is empty.
 *
 * Every worker pod ({@link WorkerPod}) first passes the `wait-for-work` gate. `restartPolicy:
 * Never` makes each retry a fresh pod, and the pod failure policy ignores disruptions, so only
 * real failures count.
 *
 * A Job's pod template is immutable, so the Job's name ends in a hash of its pod template,
 * also set as the label `ard-workqueue/template-hash`: a changed template makes a new Job,
 * which replaces the old one (README, "Rolling out a new worker template"). Parallelism is
 * not part of the hash, so scaling a running campaign patches the Job in place.
 *
 * @see https://kubernetes.io/docs/tasks/job/fine-parallel-processing-work-queue/
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/job/
 */
export class WorkQueueJob extends Construct {
  public readonly workflow: WorkflowDefinition;
  public readonly parallelism: number;
  public readonly image: string;
  public readonly backoffLimit: number;
  public readonly waitForWorkSeconds: number;
  public readonly ttlSecondsAfterFinished: number;
  public readonly activeDeadlineSeconds?: number;
  public readonly credentialsSecret: string;
  public readonly scratchPath: string;
  public readonly scratchSizeLimit: string;
  public readonly tmpSizeLimit: string;
  /** Ephemeral storage the worker container requests and is limited to: scratch + tmp + headroom. */
  public readonly ephemeralStorage: string;
  /** First 10 hex digits of the SHA-256 of the pod template. */
  public readonly templateHash: string;
  /** `<workflow>-worker-<templateHash>`. */
  public readonly jobName: string;
  /** Whether the worker pods pass the restricted Pod Security Standard. */
  public readonly meetsRestrictedProfile: boolean;
  /** The lease heartbeat's settings, `undefined` when it is off. */
  public readonly leaseHeartbeat?: ResolvedLeaseHeartbeat;
  /** The worker pod, the same as a ScaledJob's. */
  public readonly pod: WorkerPod;
  public readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: WorkQueueJobProps) {
    super(scope, id);
    this.workflow = props.workflow;
    this.pod = new WorkerPod(this, props);
    const name = this.pod.name;
    this.parallelism = positiveInteger(`workflows.${name}.parallelism`, props.parallelism ?? DEFAULT_PARALLELISM);
    const settings = resolveWorkerJobSettings(name, props, this.parallelism);
    this.backoffLimit = settings.backoffLimit;
    this.ttlSecondsAfterFinished = settings.ttlSecondsAfterFinished;
    this.activeDeadlineSeconds = settings.activeDeadlineSeconds;
    this.image = this.pod.image;
    this.waitForWorkSeconds = this.pod.waitForWorkSeconds;
    this.credentialsSecret = this.pod.credentialsSecret;
    this.scratchPath = this.pod.scratchPath;
    this.scratchSizeLimit = this.pod.scratchSizeLimit;
    this.tmpSizeLimit = this.pod.tmpSizeLimit;
    this.ephemeralStorage = this.pod.ephemeralStorage;
    this.meetsRestrictedProfile = this.pod.meetsRestrictedProfile;
    this.leaseHeartbeat = this.pod.leaseHeartbeat;

    const template = this.pod.template;
    this.templateHash = podTemplateHash(template);
    this.jobName = `${name}-worker-${this.templateHash}`;
    this.job = new k8s.KubeJob(this, 'job', {
      metadata: {
        name: this.jobName,
        labels: { ...componentLabels('ard-worker', 'worker'), ...this.pod.selectorLabels, [TEMPLATE_HASH_LABEL]: this.templateHash },
      },
      spec: { ...workerJobSpec(settings, this.parallelism), template },
    });
  }
}

/** First 10 hex digits of the SHA-256 of the pod template: enough to tell templates apart. */
function podTemplateHash(template: k8s.PodTemplateSpec): string {
  return createHash('sha256').update(JSON.stringify(k8s.KubePodTemplate.manifest({ template }))).digest('hex').slice(0, 10);
}
