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
