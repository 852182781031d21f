import Redis from 'ioredis';
import { DEFAULT_NAMESPACE } from '../lib/defaults';
import { ENVIRONMENTS } from '../lib/environments';
import type { LuaScript } from '../protocol/lua';
import { redactUrl } from './redis-url';
import { CliError } from './errors';

/** How long to wait for the TCP connection and the first reply before giving up. */
export const CONNECT_TIMEOUT_MS = 3_000;

/**
 * The port-forward command for the cluster's Redis, with each environment's namespace, e.g.
 * `kubectl port-forward -n <namespace> svc/redis-master 6379:6379 (namespace: ard-dev for dev, ard for prod)`.
 */
export function portForwardCommand(): string {
  const namespaces = ENVIRONMENTS.map((e) => `${e.namespace ?? DEFAULT_NAMESPACE} for ${e.name}`).join(', ');
  return `kubectl port-forward -n <namespace> svc/redis-master 6379:6379 (namespace: ${namespaces})`;
}

/** The hint every "cannot reach Redis" message ends with. */
export const PORT_FORWARD_HINT = `is Redis running there? For the cluster's Redis run: ${portForwardCommand()}`;

/**
 * Connects to Redis and fails fast: one attempt, a short connect timeout, no reconnects and
 * no offline queue, so an unreachable server is an error within seconds, never a hang.
 * A password in the URL (`redis://:secret@host:6379`) is passed on by ioredis.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    // Reads of a million-item list must not be cut short; the connect timeout covers hangs at start.
    commandTimeout: undefined,
  });
  // Errors surface through the rejected commands; without a listener ioredis also logs them.
  // The event carries the cause (ECONNREFUSED, ETIMEDOUT…), the rejection only "Connection is closed".
  let cause: Error | undefined;
  redis.on('error', (err: Error) => {
    cause ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new CliError(`cannot connect to Redis at ${redactUrl(url)}: ${(cause ?? (err as Error)).message}; ${PORT_FORWARD_HINT}`);
  }
  return redis;
}

/** Runs `fn` with a connection that is closed on every path, success or failure. */
export async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis(url);
  try {
    return await fn(redis);
  } finally {
    // QUIT waits for replies still in flight; disconnect() is the fallback when the link is gone.
    await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
    redis.disconnect();
  }
}

/** Runs a script by EVALSHA, falling back to EVAL once when the server has not cached it (NOSCRIPT). */
export async function runLuaScript(redis: Redis, script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha1, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}
