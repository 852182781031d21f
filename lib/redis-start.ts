/**
 * The Redis container's start-up script: load the data with a permissive `default` user while
 * Redis listens on loopback only, then open the network and load the real ACL users in one
 * transaction.
 *
 * Why: Redis 7.0–7.2 check the ACL rules of the `default` user when they replay a MULTI/EXEC
 * block of the append-only file (redis/redis#14541, fixed by redis/redis#14545 in November
 * 2025, in no 7.0 release and not assumable for a pinned 7.2 image). Our default user may run
 * only the worker protocol, while the queue tool's enqueue batches are MULTI/EXEC and Redis
 * writes the effects of every Lua script (dedupe, recovery) to the AOF wrapped in MULTI/EXEC:
 * started with the real ACL file, Redis would drop every such transaction on a restart
 * (`-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC
 * call` in its log) and the queue would silently lose its items, its dedupe record and
 * recovery's moves. On a Redis with the fix, the loading phase is merely unnecessary: the
 * same script is correct there too.
 *
 * How:
 * 1. The file Redis is started with (`--aclfile`) holds only {@link LOADING_ACL}, written anew
 *    at every container start (the emptyDir outlives a container restart), and Redis binds
 *    to loopback only: nothing outside the pod can connect while the permissive user exists.
 * 2. Once PING answers PONG (not LOADING), the AOF is loaded. The real ACL file, built by the
 *    `acl` init container, is copied over the `--aclfile`, and one transaction runs
 *    `CONFIG SET bind <redis.conf's bind>`, `ACL LOAD`, `CONFIG SET bind <loopback>`. Redis
 *    runs a transaction without serving any other client, and checks each queued command's
 *    ACL when it runs it: when ACL LOAD succeeds, default may no longer run CONFIG and the
 *    third command is refused (NOPERM), leaving the network open and default restricted; when
 *    ACL LOAD fails (a bad file), the third command closes the network again. No client
 *    outside the pod ever meets the permissive user. Any other outcome stops Redis (gracefully:
 *    the AOF is fsynced) and the container exits 1.
 * 3. Only then the script creates the serving marker the readiness probe checks, and waits
 *    for redis-server, forwarding SIGTERM/SIGINT to it: on shutdown Redis fsyncs its AOF, and
 *    the container exits with Redis's status.
 *
 * Paths and the port come from the environment ({@link redisStartEnv}), so tests run the
 * script unchanged on temp dirs and a free port.
 *
 * @see https://github.com/redis/redis/issues/14541
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/
 */

/** The ACL Redis starts with: everything for default, so every transaction of the AOF replays. */
export const LOADING_ACL = 'user default on nopass ~* &* +@all';

/** Addresses Redis listens on while it loads: the pod's loopback, never the pod network. */
export const LOADING_BIND = '127.0.0.1 -::1';

/** Environment of the Redis container that the start-up script and the probes read. */
export interface RedisStartPaths {
  /** redis.conf (mounted from the ConfigMap). */
  readonly conf: string;
  /** The data directory (`--dir`). */
  readonly dataDir: string;
  readonly port: number;
  /** The real ACL file, built by the `acl` init container. */
  readonly aclFile: string;
  /** The file Redis loads (`--aclfile`): the loading ACL, then a copy of the real one. */
  readonly activeAclFile: string;
  /** Created once the real ACL users are loaded and the network is open; the readiness probe checks it. */
  readonly servingFile: string;
}

/** The Redis container's env for {@link REDIS_START_SCRIPT}, in a stable order. */
export function redisStartEnv(paths: RedisStartPaths, bind: string): Array<{ name: string; value: string }> {
  return [
    { name: 'REDIS_CONF', value: paths.conf },
    { name: 'REDIS_DATA_DIR', value: paths.dataDir },
    { name: 'REDIS_PORT', value: String(paths.port) },
    { name: 'REDIS_BIND', value: bind },
    { name: 'ACL_FILE', value: paths.aclFile },
    { name: 'REDIS_ACL_FILE', value: paths.activeAclFile },
    { name: 'REDIS_SERVING_FILE', value: paths.servingFile },
  ];
}

/**
 * Readiness: Redis answers PONG, and only then the serving marker of its switch exists. In this
 * order a PONG comes from a Redis started after the script removed the previous run's marker, so
 * the marker is this run's; the other way round, a restart between the two checks would pass a
 * Redis still loading with its permissive ACL.
 */
export const REDIS_READINESS_SCRIPT = '[ "$(redis-cli -p "$REDIS_PORT" ping)" = PONG ] && [ -e "$REDIS_SERVING_FILE" ]';

/** Liveness: PONG, or LOADING while a large AOF is loaded (alive, just not ready yet). */
export const REDIS_LIVENESS_SCRIPT = 'r="$(redis-cli -p "$REDIS_PORT" ping)"; [ "$r" = PONG ] || [ "${r#LOADING}" != "$r" ]';

/** POSIX sh; see the file comment for why each step is there. */
export const REDIS_START_SCRIPT = [
  'set -eu',
  'umask 077',
  'log() { echo "redis-start: $*" >&2; }',
  'rm -f "$REDIS_SERVING_FILE"',
  '# Loading phase: default may replay every transaction of the AOF; only loopback can reach it.',
  `echo '${LOADING_ACL}' > "$REDIS_ACL_FILE"`,
  `redis-server "$REDIS_CONF" --port "$REDIS_PORT" --dir "$REDIS_DATA_DIR" --aclfile "$REDIS_ACL_FILE" --bind ${LOADING_BIND} &`,
  'pid=$!',
  'trap \'kill -TERM "$pid" 2>/dev/null || :\' TERM INT',
  '# Waits for redis-server to exit, also through signals (wait returns early when a trap runs): $status.',
  'reap() {',
  '  while :; do',
  '    status=0; wait "$pid" || status=$?',
  '    kill -0 "$pid" 2>/dev/null || return 0',
  '  done',
  '}',
  'fail() { log "$*; stopping Redis"; kill -TERM "$pid" 2>/dev/null || :; reap; exit 1; }',
  'cli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }',
  'until [ "$(cli ping 2>/dev/null)" = PONG ]; do',
  '  kill -0 "$pid" 2>/dev/null || { reap; log "redis-server exited ($status) while loading"; exit "$status"; }',
  '  sleep 0.1',
  'done',
  'cp "$ACL_FILE" "$REDIS_ACL_FILE" || fail "cannot copy $ACL_FILE to $REDIS_ACL_FILE"',
  '# One transaction: no other client runs between opening the network and restricting default.',
  '# ACL LOAD succeeded: default may not run CONFIG any more, the last command is refused.',
  '# ACL LOAD failed: the last command closes the network again.',
  `reply="$(printf '%s\\n' MULTI "CONFIG SET bind \\"$REDIS_BIND\\"" 'ACL LOAD' 'CONFIG SET bind "${LOADING_BIND}"' EXEC | cli 2>&1)" || :`,
  `expected="$(printf 'OK\\nQUEUED\\nQUEUED\\nQUEUED\\nOK\\nOK\\nNOPERM')"`,
  'case "$reply" in',
  '  "$expected"*) ;;',
  '  *) fail "could not load the ACL users of $ACL_FILE and open the network; Redis answered: $reply" ;;',
  'esac',
  ': > "$REDIS_SERVING_FILE"',
  'log "loaded the data, then the ACL users of $ACL_FILE; listening on $REDIS_BIND"',
  'reap',
  'exit "$status"',
].join('\n') + '\n';
