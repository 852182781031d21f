import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { LeaseHeartbeatSettings, leaseHeartbeatPodParts, ResolvedLeaseHeartbeat, resolveLeaseHeartbeat } from './lease-heartbeat';
import { componentLabels, REDIS_CLIENT_LABEL, WORKFLOW_LABEL } from './labels';
import {
  BACKOFF_LIMIT_PER_WORKER, DEFAULT_CREDENTIALS_SECRET, DEFAULT_EPHEMERAL_STORAGE_HEADROOM, DEFAULT_LOG_LEVEL, DEFAULT_PARALLELISM,
  DEFAULT_SCRATCH_SIZE_LIMIT, DEFAULT_TMP_SIZE_LIMIT, DEFAULT_TTL_SECONDS_AFTER_FINISHED, DEFAULT_WORKER_RESOURCES,
} from './defaults';
import {
  ContainerResources, meetsRestricted, RESTRICTED_CONTAINER_SECURITY_CONTEXT, resourceRequirements, restrictedPodSecurityContext,
} from './pod-security';
import { RedisQueueStore } from './redis-queue-store';
import { absolutePath, ConfigError, dnsLabel, noLiteralCredentials, nonNegativeInteger, pinnedImage, positiveInteger, quantityBytes } from './validation';
import { DEFAULT_WAIT_FOR_WORK_SECONDS, waitForWorkGate } from './wait-for-work';
import { DEFAULT_INTER_DIR, WorkflowDefinition } from '../protocol/workflows';

/** Label on every worker Job: the hash of its pod template, also the end of the Job's name. */
export const TEMPLATE_HASH_LABEL = 'ard-workqueue/template-hash';

/** Writable scratch space for the worker's intermediate files (`inter_dir` of the items). */
export interface ScratchVolume {
  /**
   * Absolute path, the `inter_dir` the work items name.
   * @default DEFAULT_INTER_DIR ("/data/intermediate/")
   */
  readonly path?: string;
  /**
   * Size limit of the emptyDir; part of the worker's ephemeral-storage request and limit, so
   * the scheduler places the pod on a node with room for it. One scene needs several GB.
   * @default DEFAULT_SCRATCH_SIZE_LIMIT ("20Gi")
   */
  readonly sizeLimit?: string;
}

/**
 * Temporary files (`TMPDIR`, GDAL's `CPL_TMPDIR`): an emptyDir at `/tmp`. GDAL and rio-cogeo
 * write whole intermediate rasters there, so it is sized like scratch space, not like a cache.
 */
export interface TmpVolume {
  /**
   * Size limit of the emptyDir at `/tmp`.
   * @default DEFAULT_TMP_SIZE_LIMIT ("10Gi")
   */
  readonly sizeLimit?: string;
}

/**
 * How the worker container runs. The defaults are the restricted profile minus what the
 * third-party worker images need: they run as root and write outside `inter_dir`.
 */
export interface WorkerSecurityProps {
  /**
   * uid to run as. Set it, with `readOnlyRootFilesystem`, when the image supports a non-root
   * user: the worker then passes the restricted Pod Security Standard.
   * @default - the image's user (root for the satapps images)
   */
  readonly runAsUser?: number;
  /**
   * Mount the root filesystem read-only; `/tmp` and the scratch path stay writable.
   * @default false — the images write caches outside the scratch path
   */
  readonly readOnlyRootFilesystem?: boolean;
}

export interface WorkQueueJobProps {
  /** The workflow: queue name, default image. */
  readonly workflow: WorkflowDefinition;
  /** The queue store; its client Service becomes `REDIS_SERVICE_HOST`. */
  readonly redis: RedisQueueStore;
  /**
   * Worker pods running at once. Mutable on a running Job: changing it keeps the Job's name.
   * @default DEFAULT_PARALLELISM (1)
   */
  readonly parallelism?: number;
  /**
   * Worker image, pinned by tag.
   * @default - the workflow's image
   */
  readonly image?: string;
  /**
   * Failed worker pods before the whole Job is marked failed and all its workers stop.
   * Disruptions (drains, preemption, API evictions) never count: the pod failure policy
   * ignores them. A Redis restart costs about one failed pod per running worker, an OOM kill
   * or a crash one; dead-lettering stops a poison item after `recovery.maxAttempts`.
   * @default BACKOFF_LIMIT_PER_WORKER × parallelism (10 × parallelism)
   */
  readonly backoffLimit?: number;
  /**
   * Seconds each worker pod's `wait-for-work` gate waits for work in the queue before it lets
   * the worker run anyway (which then exits 0 on an empty queue). 0 waits only for Redis.
   * @default DEFAULT_WAIT_FOR_WORK_SECONDS (1800: 30 minutes)
   */
  readonly waitForWorkSeconds?: number;
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
  /**
   * Name of a Secret, created out of band, whose keys become the worker's environment
   * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, COPERNICUS_USERNAME, …). Never values here.
   * @default DEFAULT_CREDENTIALS_SECRET ("ard-credentials")
   */
  readonly credentialsSecret?: string;
  /**
   * Let workers start when the credentials Secret does not exist (public buckets).
   * @default false
   */
  readonly credentialsOptional?: boolean;
  /**
   * Extra literal environment, e.g. `AWS_NO_SIGN_REQUEST`. Credential-like names are refused.
   * @default {}
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * `LOGLEVEL` of the worker.
   * @default DEFAULT_LOG_LEVEL ("INFO")
   */
  readonly logLevel?: string;
  /**
   * cpu and memory of one worker.
   * @default DEFAULT_WORKER_RESOURCES ({ cpu: '1', memory: '4Gi' })
   */
  readonly resources?: ContainerResources;
  /** @default - scratch at "/data/intermediate/", 20Gi */
  readonly scratch?: ScratchVolume;
  /** @default - `/tmp` of 10Gi */
  readonly tmp?: TmpVolume;
  /**
   * Ephemeral storage beyond scratch and `/tmp` (container logs, files the image writes to its
   * root filesystem): the worker requests and is limited to scratch + tmp + this.
   * @default DEFAULT_EPHEMERAL_STORAGE_HEADROOM ("2Gi")
   */
  readonly ephemeralStorageHeadroom?: string;
  /** @default - any node */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** @default - none */
  readonly tolerations?: readonly k8s.Toleration[];
  /**
   * Affinity rules, as Kubernetes takes them.
   * @default - none, unless `spreadAcrossNodes`
   */
  readonly affinity?: k8s.Affinity;
  /**
   * Prefer one worker per node (soft pod anti-affinity on the hostname), as the original's
   * production example did. Ignored when `affinity` is set.
   * @default false
   */
  readonly spreadAcrossNodes?: boolean;
  /** @default - none */
  readonly imagePullSecrets?: readonly string[];
  /** @default - see {@link WorkerSecurityProps} */
  readonly security?: WorkerSecurityProps;
  /**
   * Lease heartbeat loaded into the worker's Python: short leases, renewed while the worker
   * holds its item (see lib/lease-heartbeat.ts). `false` leaves the image's fixed lease.
   * @default true - DEFAULT_LEASE_SECONDS renewed, for at most DEFAULT_MAX_LEASE_SECONDS
   */
  readonly leaseHeartbeat?: boolean | LeaseHeartbeatSettings;
}

/**
 * One work-queue Job for one workflow: `parallelism` workers, `completions` unset, each
 * worker taking items from the workflow's Redis list until it is empty.
 *
 * Every worker pod first passes the `wait-for-work` gate. `restartPolicy: Never` makes each
 * retry a fresh pod (the gate runs again, scratch starts empty, the failed pod keeps its logs),
 * and the pod failure policy ignores disruptions, so only real failures count.
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
  public readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: WorkQueueJobProps) {
    super(scope, id);
    this.workflow = props.workflow;
    const name = dnsLabel('workflow.name', props.workflow.name, 40);
    const field = (f: string) => `workflows.${name}.${f}`;
    this.parallelism = positiveInteger(field('parallelism'), props.parallelism ?? DEFAULT_PARALLELISM);
    this.image = pinnedImage(field('image'), props.image ?? props.workflow.image);
    this.backoffLimit = nonNegativeInteger(field('backoffLimit'), props.backoffLimit ?? BACKOFF_LIMIT_PER_WORKER * this.parallelism);
    this.waitForWorkSeconds = nonNegativeInteger(field('waitForWorkSeconds'), props.waitForWorkSeconds ?? DEFAULT_WAIT_FOR_WORK_SECONDS);
    this.ttlSecondsAfterFinished = nonNegativeInteger(field('ttlSecondsAfterFinished'), props.ttlSecondsAfterFinished ?? DEFAULT_TTL_SECONDS_AFTER_FINISHED);
    this.activeDeadlineSeconds = props.activeDeadlineSeconds === undefined
      ? undefined
      : positiveInteger(field('activeDeadlineSeconds'), props.activeDeadlineSeconds);
    this.credentialsSecret = dnsLabel(field('credentialsSecret'), props.credentialsSecret ?? DEFAULT_CREDENTIALS_SECRET);
    this.scratchPath = absolutePath(field('scratch.path'), props.scratch?.path ?? DEFAULT_INTER_DIR);
    this.scratchSizeLimit = props.scratch?.sizeLimit ?? DEFAULT_SCRATCH_SIZE_LIMIT;
    this.tmpSizeLimit = props.tmp?.sizeLimit ?? DEFAULT_TMP_SIZE_LIMIT;
    const headroom = props.ephemeralStorageHeadroom ?? DEFAULT_EPHEMERAL_STORAGE_HEADROOM;
    this.ephemeralStorage = formatBytes(
      quantityBytes(field('scratch.sizeLimit'), this.scratchSizeLimit) +
      quantityBytes(field('tmp.sizeLimit'), this.tmpSizeLimit) +
      quantityBytes(field('ephemeralStorageHeadroom'), headroom));
    const env = props.env ?? {};
    noLiteralCredentials(field('env'), env);
    for (const [reserved, instead] of Object.entries(RESERVED_ENV)) {
      if (reserved in env) throw new ConfigError(`'${field('env')}.${reserved}' is set by the construct; use ${instead} instead`);
    }

    this.leaseHeartbeat = resolveLeaseHeartbeat(field('leaseHeartbeat'), props.leaseHeartbeat);
    const heartbeat = leaseHeartbeatPodParts(this, this.leaseHeartbeat, field('env'), env);

    const { pod: podSecurity, container: containerSecurity } = workerSecurity(props.security ?? {});
    this.meetsRestrictedProfile = meetsRestricted(podSecurity, containerSecurity);

    const selectorLabels = { [WORKFLOW_LABEL]: name, 'app.kubernetes.io/instance': name };
    const podLabels = {
      ...componentLabels('ard-worker', 'worker'),
      ...selectorLabels,
      [REDIS_CLIENT_LABEL]: 'true',
    };

    const redis = props.redis;
    const template: k8s.PodTemplateSpec = {
      metadata: {
        labels: podLabels,
        // A scene takes up to an hour: autoscalers must not consolidate a node under a worker.
        annotations: {
          'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
          'karpenter.sh/do-not-disrupt': 'true',
          ...heartbeat?.annotations,
        },
      },
      spec: {
        // Each retry is a new pod: the gate runs again and scratch starts empty.
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        // Kubernetes would inject REDIS_* variables for Services in the namespace; we set our own.
        enableServiceLinks: false,
        securityContext: podSecurity,
        imagePullSecrets: props.imagePullSecrets?.map((n) => ({ name: n })),
        nodeSelector: props.nodeSelector ? { ...props.nodeSelector } : undefined,
        tolerations: props.tolerations ? [...props.tolerations] : undefined,
        affinity: props.affinity ?? (props.spreadAcrossNodes ? spreadAcrossNodes(selectorLabels) : undefined),
        initContainers: [waitForWorkGate({ redis, queue: props.workflow.queue, waitSeconds: this.waitForWorkSeconds })],
        containers: [{
          name: 'worker',
          image: this.image,
          imagePullPolicy: 'IfNotPresent',
          env: [
            { name: 'REDIS_SERVICE_HOST', value: redis.serviceHost },
            { name: 'LOGLEVEL', value: props.logLevel ?? DEFAULT_LOG_LEVEL },
            // Temporary files on the sized /tmp volume, not on the node's root filesystem.
            { name: 'TMPDIR', value: TMP_PATH },
            { name: 'CPL_TMPDIR', value: TMP_PATH },
            ...Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
            ...heartbeat?.env ?? [],
          ],
          envFrom: [{ secretRef: { name: this.credentialsSecret, optional: props.credentialsOptional ?? false } }],
          resources: resourceRequirements(props.resources ?? DEFAULT_WORKER_RESOURCES, { 'ephemeral-storage': this.ephemeralStorage }, { 'ephemeral-storage': this.ephemeralStorage }),
          securityContext: containerSecurity,
          volumeMounts: [
            { name: 'scratch', mountPath: this.scratchPath.replace(/(.)\/+$/, '$1') },
            { name: 'tmp', mountPath: TMP_PATH },
            ...heartbeat ? [heartbeat.volumeMount] : [],
          ],
        }],
        volumes: [
          { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString(this.scratchSizeLimit) } },
          { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString(this.tmpSizeLimit) } },
          ...heartbeat ? [heartbeat.volume] : [],
        ],
      },
    };

    this.templateHash = podTemplateHash(template);
    this.jobName = `${name}-worker-${this.templateHash}`;
    this.job = new k8s.KubeJob(this, 'job', {
      metadata: {
        name: this.jobName,
        labels: { ...componentLabels('ard-worker', 'worker'), ...selectorLabels, [TEMPLATE_HASH_LABEL]: this.templateHash },
      },
      spec: {
        parallelism: this.parallelism,
        // completions unset: the work-queue pattern; the Job succeeds when a worker exits 0
        // (the queue is empty) and the others have finished.
        backoffLimit: this.backoffLimit,
        // Drains, preemption and API evictions are not the worker's fault: retry without
        // counting them against backoffLimit.
        podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
        ttlSecondsAfterFinished: this.ttlSecondsAfterFinished,
        activeDeadlineSeconds: this.activeDeadlineSeconds,
        template,
      },
    });
  }
}

/** Where the `tmp` volume is mounted: `TMPDIR` and `CPL_TMPDIR`. */
const TMP_PATH = '/tmp';

/** Env vars the construct sets itself, and the prop that sets each. */
const RESERVED_ENV: Record<string, string> = {
  REDIS_SERVICE_HOST: "the 'redis' prop", LOGLEVEL: "'logLevel'", TMPDIR: "'tmp'", CPL_TMPDIR: "'tmp'",
};

/** Bytes as a Kubernetes quantity in the largest binary unit that divides them (`54Gi`, `1536Mi`). */
function formatBytes(bytes: number): string {
  for (const [unit, factor] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

/**
 * The restricted profile for an image that can run as a non-root `runAsUser`; otherwise
 * everything of it that a root image can still run with.
 */
function workerSecurity(security: WorkerSecurityProps): { pod: k8s.PodSecurityContext; container: k8s.SecurityContext } {
  const readOnlyRootFilesystem = security.readOnlyRootFilesystem ?? false;
  if (security.runAsUser !== undefined && security.runAsUser !== 0) {
    return {
      pod: restrictedPodSecurityContext(security.runAsUser),
      container: { ...RESTRICTED_CONTAINER_SECURITY_CONTEXT, readOnlyRootFilesystem },
    };
  }
  return {
    pod: { seccompProfile: { type: 'RuntimeDefault' } },
    container: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/** First 10 hex digits of the SHA-256 of the pod template: enough to tell templates apart. */
function podTemplateHash(template: k8s.PodTemplateSpec): string {
  return createHash('sha256').update(JSON.stringify(k8s.KubePodTemplate.manifest({ template }))).digest('hex').slice(0, 10);
}

function spreadAcrossNodes(labels: Record<string, string>): k8s.Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } },
      }],
    },
  };
}
