import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { LeaseHeartbeatSettings, leaseHeartbeatPodParts, ResolvedLeaseHeartbeat, resolveLeaseHeartbeat } from './lease-heartbeat';
import { componentLabels, REDIS_CLIENT_LABEL, WORKFLOW_LABEL } from './labels';
import {
  DEFAULT_CREDENTIALS_SECRET, DEFAULT_EPHEMERAL_STORAGE_HEADROOM, DEFAULT_LOG_LEVEL,
  DEFAULT_SCRATCH_SIZE_LIMIT, DEFAULT_TMP_SIZE_LIMIT, DEFAULT_WORKER_RESOURCES,
} from './defaults';
import {
  ContainerResources, meetsRestricted, RESTRICTED_CONTAINER_SECURITY_CONTEXT, resourceRequirements, restrictedPodSecurityContext,
} from './pod-security';
import { RedisQueueStore } from './redis-queue-store';
import { absolutePath, ConfigError, dnsLabel, noLiteralCredentials, nonNegativeInteger, pinnedImage, quantityBytes } from './validation';
import { DEFAULT_WAIT_FOR_WORK_SECONDS, waitForWorkGate } from './wait-for-work';
import { DEFAULT_INTER_DIR, WorkflowDefinition } from '../protocol/workflows';

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

/** The worker pod: the same in every mode (work-queue Job, KEDA ScaledJob). */
export interface WorkerPodProps {
  /** The workflow: queue name, default image. */
  readonly workflow: WorkflowDefinition;
  /** The queue store; its client Service becomes `REDIS_SERVICE_HOST`. */
  readonly redis: RedisQueueStore;
  /**
   * Worker image, pinned by tag.
   * @default - the workflow's image
   */
  readonly image?: string;
  /**
   * Seconds each worker pod's `wait-for-work` gate waits for work in the queue before it lets
   * the worker run anyway (which then exits 0 on an empty queue). 0 waits only for Redis.
   * @default DEFAULT_WAIT_FOR_WORK_SECONDS (1800: 30 minutes)
   */
  readonly waitForWorkSeconds?: number;
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
 * The worker pod of one workflow, built once for every mode, so the work-queue Job and the
 * KEDA ScaledJob run the same pod: the `wait-for-work` gate, the lease heartbeat, scratch and
 * `/tmp` (TMPDIR, CPL_TMPDIR), the security context and the credentials.
 *
 * `restartPolicy: Never` makes each retry a fresh pod (the gate runs again, scratch starts
 * empty, the failed pod keeps its logs).
 *
 * @see https://kubernetes.io/docs/tasks/job/fine-parallel-processing-work-queue/
 */
export class WorkerPod {
  /** The workflow's name, a DNS label of at most 40 characters. */
  public readonly name: string;
  public readonly workflow: WorkflowDefinition;
  public readonly image: string;
  public readonly waitForWorkSeconds: number;
  public readonly credentialsSecret: string;
  public readonly scratchPath: string;
  public readonly scratchSizeLimit: string;
  public readonly tmpSizeLimit: string;
  /** Ephemeral storage the worker container requests and is limited to: scratch + tmp + headroom. */
  public readonly ephemeralStorage: string;
  /** Whether the worker pods pass the restricted Pod Security Standard. */
  public readonly meetsRestrictedProfile: boolean;
  /** The lease heartbeat's settings, `undefined` when it is off. */
  public readonly leaseHeartbeat?: ResolvedLeaseHeartbeat;
  /** Labels that select this workflow's worker pods (and its Job or ScaledJob). */
  public readonly selectorLabels: Record<string, string>;
  public readonly template: k8s.PodTemplateSpec;

  /**
   * @param scope where the lease heartbeat's shared objects live (see lib/lease-heartbeat.ts)
   */
  constructor(scope: Construct, props: WorkerPodProps) {
    this.workflow = props.workflow;
    this.name = dnsLabel('workflow.name', props.workflow.name, 40);
    const field = (f: string) => `workflows.${this.name}.${f}`;
    this.image = pinnedImage(field('image'), props.image ?? props.workflow.image);
    this.waitForWorkSeconds = nonNegativeInteger(field('waitForWorkSeconds'), props.waitForWorkSeconds ?? DEFAULT_WAIT_FOR_WORK_SECONDS);
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
    const heartbeat = leaseHeartbeatPodParts(scope, this.leaseHeartbeat, field('env'), env);

    const { pod: podSecurity, container: containerSecurity } = workerSecurity(props.security ?? {});
    this.meetsRestrictedProfile = meetsRestricted(podSecurity, containerSecurity);

    this.selectorLabels = { [WORKFLOW_LABEL]: this.name, 'app.kubernetes.io/instance': this.name };
    const podLabels = {
      ...componentLabels('ard-worker', 'worker'),
      ...this.selectorLabels,
      [REDIS_CLIENT_LABEL]: 'true',
    };

    const redis = props.redis;
    this.template = {
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
        affinity: props.affinity ?? (props.spreadAcrossNodes ? spreadAcrossNodes(this.selectorLabels) : undefined),
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
  }

  /** The pod template as it appears in a manifest (JSON, Kubernetes field names). */
  public manifest(): Record<string, unknown> {
    return k8s.KubePodTemplate.manifest({ template: this.template }).template;
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
