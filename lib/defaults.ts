/**
 * The defaults of the constructs' props, each written once: the constructs resolve `props.x ??
 * DEFAULT_X`, their JSDoc `@default` names the constant, and test/docs/readme-defaults.test.ts
 * checks the README's configuration tables against these values.
 *
 * Defaults that belong to one concept live with it: DEFAULT_REDIS_IMAGE (redis-queue-store.ts),
 * DEFAULT_DISABLED_COMMANDS (redis-config.ts), DEFAULT_INTER_DIR (protocol/workflows.ts) and the
 * recovery defaults (protocol/recovery.ts).
 */
import type { ContainerResources } from './pod-security';
import type { AppendFsync } from './redis-config';
import type { RedisStorage } from './redis-queue-store';

/** Namespace of an environment, and of the original deployment. */
export const DEFAULT_NAMESPACE = 'ard';

// --- Redis (RedisQueueStoreProps) ----------------------------------------------------------

/** Durable storage for the queue. */
export const DEFAULT_REDIS_STORAGE: RedisStorage = { kind: 'persistentVolumeClaim', size: '10Gi' };
/** `sizeLimit` of `{ kind: 'emptyDir' }` storage. */
export const DEFAULT_REDIS_EMPTY_DIR_SIZE_LIMIT = '1Gi';
/** Requests of the Redis container; the memory limit equals the request. */
export const DEFAULT_REDIS_RESOURCES: ContainerResources = { cpu: '250m', memory: '2Gi' };
/** An acknowledged write survives a crash of Redis or of its node. */
export const DEFAULT_APPEND_FSYNC: AppendFsync = 'always';
/** Time Redis gets after SIGTERM to fsync its AOF and exit. */
export const DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS = 60;

// --- Workers (WorkQueueJobProps) -----------------------------------------------------------

/** Worker pods at once. */
export const DEFAULT_PARALLELISM = 1;
/**
 * The Job's backoffLimit is this many failed pods per worker (× parallelism): a Redis restart
 * costs about one per running worker, so a campaign survives several.
 */
export const BACKOFF_LIMIT_PER_WORKER = 10;
/** A finished Job and its logs stay a day. */
export const DEFAULT_TTL_SECONDS_AFTER_FINISHED = 86_400;
/** Secret whose keys become the workers' environment. */
export const DEFAULT_CREDENTIALS_SECRET = 'ard-credentials';
/** `LOGLEVEL` of the workers. */
export const DEFAULT_LOG_LEVEL = 'INFO';
/** Requests of a worker container; the memory limit equals the request. */
export const DEFAULT_WORKER_RESOURCES: ContainerResources = { cpu: '1', memory: '4Gi' };
/** Size limit of the workers' scratch emptyDir, also requested as ephemeral storage. */
export const DEFAULT_SCRATCH_SIZE_LIMIT = '20Gi';
/** Size limit of the workers' /tmp emptyDir (TMPDIR, CPL_TMPDIR): GDAL writes whole rasters there. */
export const DEFAULT_TMP_SIZE_LIMIT = '10Gi';
/** Ephemeral storage a worker may use beyond scratch and /tmp (logs, the image's writable layer). */
export const DEFAULT_EPHEMERAL_STORAGE_HEADROOM = '2Gi';

// --- KEDA mode (KedaScalingProps, KedaOperatorProps) --------------------------------------

/** Most Jobs (one worker each) a ScaledJob runs at once. */
export const DEFAULT_KEDA_MAX_REPLICA_COUNT = 10;
/** Seconds between two looks of the KEDA operator at the queue's length. */
export const DEFAULT_KEDA_POLLING_INTERVAL = 30;
/**
 * KEDA's `accurate`: a worker removes the item it takes from the pending list, so the list
 * does not count items being processed, and pending (not yet running) Jobs are subtracted.
 */
export const DEFAULT_KEDA_SCALING_STRATEGY = 'accurate';
/** Finished Jobs (and their pods' logs) KEDA keeps, each kind; the Jobs' TTL also applies. */
export const DEFAULT_KEDA_SUCCESSFUL_JOBS_HISTORY_LIMIT = 10;
export const DEFAULT_KEDA_FAILED_JOBS_HISTORY_LIMIT = 10;
/** Pending items per worker KEDA aims at: a scene takes minutes to an hour, so one each. */
export const DEFAULT_KEDA_LIST_LENGTH = 1;
/** Pending items above which KEDA starts workers: any. */
export const DEFAULT_KEDA_ACTIVATION_LIST_LENGTH = 0;
/** Namespace of the KEDA operator (its Helm chart's and manifests' default). */
export const DEFAULT_KEDA_OPERATOR_NAMESPACE = 'keda';
/** Labels of the KEDA operator's pods, in its Helm chart and in its release manifests. */
export const DEFAULT_KEDA_OPERATOR_POD_LABELS: Readonly<Record<string, string>> = { app: 'keda-operator' };
/** Redis ACL user of the KEDA operator's redis scaler. */
export const DEFAULT_KEDA_ACL_USER = 'keda';
/** Secret (created by the operator of the cluster) holding the KEDA ACL user's password. */
export const DEFAULT_KEDA_PASSWORD_SECRET = 'redis-keda';
