// The lease heartbeat's names and Redis commands, apart from its construct (lease-heartbeat.ts):
// the Redis ACL grants the commands, and the tests that run the committed heartbeat find it by
// name, neither needing cdk8s.

/** Name of the ConfigMap, one per namespace, shared by every workflow's workers. */
export const LEASE_HEARTBEAT_CONFIG_MAP = 'lease-heartbeat';

/**
 * Every Redis command the heartbeat sends, all on the lease keys `<queue>:leased_by_session:*`
 * (MULTI, EXEC and UNWATCH take no key): WATCH, GET, then MULTI, EXPIRE, EXEC while the lease is
 * this worker's, or UNWATCH once it is not. The unauthenticated `default` user's ACL must allow
 * them next to the workers' own protocol; no scripting is needed.
 */
export const LEASE_HEARTBEAT_REDIS_COMMANDS = ['WATCH', 'GET', 'MULTI', 'EXPIRE', 'EXEC', 'UNWATCH'] as const;
