/**
 * What the Redis exporter reads from the queue store, and what it may read: the queue-metrics
 * Lua script, the keys it checks, and its least-privilege Redis ACL.
 *
 * Side-effect free (no cdk8s): the exporter construct, the alerts, the dashboard and the tests
 * share these definitions.
 *
 * @see https://github.com/oliver006/redis_exporter#command-line-flags
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { bundleLua } from '../protocol/lua';
import { queueKeys } from '../protocol/queue-keys';

/** Path of the metrics script, relative to the repository root (read at synth time). */
export const QUEUE_METRICS_SCRIPT = 'lib/lua/queue-metrics.lua';

/**
 * What the script reports per queue, as `redis_script_values{key="<queue>:<name>"}`.
 * See the header of lib/lua/queue-metrics.lua for the definitions.
 */
export const QUEUE_SCRIPT_VALUES = ['pending', 'processing', 'dead_letter', 'recorded', 'done', 'unleased_seconds'] as const;
export type QueueScriptValue = typeof QUEUE_SCRIPT_VALUES[number];

/**
 * The metrics script for `queues`: the file with the queue names prepended, because the
 * exporter runs it as `EVAL <script> 0 0`, without KEYS.
 */
export function renderQueueMetricsScript(queues: readonly string[]): string {
  const body = bundleLua(readFileSync(path.join(__dirname, '..', QUEUE_METRICS_SCRIPT), 'utf8'));
  return `local QUEUES = { ${queues.map(luaString).join(', ')} }\n${body}`;
}

function luaString(value: string): string {
  // JSON string escapes are valid Lua escapes for the characters a queue name can hold.
  return JSON.stringify(value);
}

/**
 * Keys the exporter reports with `--check-single-keys` (`redis_key_size`, and in exporter
 * 1.5x+ `redis_key_memory_usage_bytes`): the lists and recovery's first-sight hash. Not the
 * dedupe record: it is a string, and the exporter GETs every string it checks (16 MB for a
 * million scenes) and exports its value as a label. The script reports the record's size.
 */
export function checkedKeys(queue: string): string[] {
  const keys = queueKeys(queue);
  return [keys.pending, keys.processing, keys.deadLetter, keys.unleasedSince];
}

/**
 * Keys the exporter reads: the checked keys and, through the script, the dedupe record's shards
 * (a pattern for those after the first, see recordShardKey). ACL key patterns are globs: the
 * workflows' queue names (protocol/workflows.ts) have none of their special characters.
 */
export function exporterReadKeys(queue: string): string[] {
  const { enqueued } = queueKeys(queue);
  return [...checkedKeys(queue), enqueued, `${enqueued}:*`];
}

/**
 * Every command oliver006/redis_exporter sends with the flags of {@link RedisExporter}, and
 * nothing else. Measured against redis-server 7 with an ACL user limited to this list
 * (test/monitoring/redis-exporter.test.ts removes each command in turn and sees it refused);
 * the two marked 1.5x+ are sent only by newer releases than Debian's 1.45 (read from the
 * pinned release's source: exporter/keys.go, exporter/latency.go).
 */
export const EXPORTER_ACL_COMMANDS: readonly string[] = [
  'client|setname', // --set-client-name (default): shows as redis_exporter in CLIENT LIST
  'info', // INFO ALL: memory, maxmemory, clients, commands, persistence, keyspace
  'latency|latest',
  'latency|histogram', // 1.5x+ (skipped only with --exclude-latency-histogram-metrics, unknown to 1.45)
  'slowlog|len',
  'slowlog|get',
  'select', // before the key checks
  'type', // --check-single-keys: TYPE, then the size command of that type
  'llen',
  'hlen',
  'memory|usage', // 1.5x+: redis_key_memory_usage_bytes of each checked key
  'eval', // --script
  'time', // in the script: the age of recovery's first sight
  'strlen', // in the script: the dedupe record's size
  'hvals', // in the script: recovery's first-sight times
];

/**
 * The exporter's ACL rules, without user name and password: no command but
 * {@link EXPORTER_ACL_COMMANDS}, read-only access (`%R~`) to {@link exporterReadKeys} of each
 * queue, no channels. `ACL SETUSER <user> reset on ><password> ...rules` creates the user.
 */
export function exporterAclRules(queues: readonly string[]): string[] {
  return [
    ...EXPORTER_ACL_COMMANDS.map((c) => `+${c}`),
    ...queues.flatMap(exporterReadKeys).map((k) => `%R~${k}`),
  ];
}
