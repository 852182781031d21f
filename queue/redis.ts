import Redis from 'ioredis';
import type { LuaScript } from '../protocol/lua';
import { PORT_FORWARD_HINT, RedisEndpoint } from './redis-url';
import { CliError } from './errors';

/**
 * Connects to Redis and fails fast: one attempt, no reconnects and no offline queue, and the
 * endpoint's time limit (`--timeout`, default 10 s) on the connection and on every reply, so
 * that a server that accepts connections and never answers (a stopped process) is an error,
 * never a hang. Selects the URL's database, failing when the server has no such database.
 */
export async function connectRedis(endpoint: RedisEndpoint): Promise<Redis> {
  const redis = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.username,
    password: endpoint.password,
    ...(endpoint.tls ? { tls: {} } : {}),
    lazyConnect: true,
    connectTimeout: endpoint.timeoutMs,
    commandTimeout: endpoint.timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    // ioredis keeps a closed socket's timer 2 s by default, holding the process after a failure.
    disconnectTimeout: 50,
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
    throw new CliError(`cannot connect to Redis at ${endpoint.display}: ${describe(cause ?? (err as Error), endpoint)}; ${PORT_FORWARD_HINT}`);
  }
  if (endpoint.db !== 0) {
    try {
      await redis.select(endpoint.db);
    } catch (err) {
      redis.disconnect();
      throw new CliError(`Redis at ${endpoint.display} refused database ${endpoint.db}: ${describe(err as Error, endpoint)} (the server's 'databases' setting limits the indexes; most deployments use database 0)`);
    }
  }
  return redis;
}

/** An error's message, saying "no reply within N s" for a timeout, and never holding the password. */
export function describe(err: Error, endpoint: RedisEndpoint): string {
  const message = /timed? ?out/i.test(err.message) ? `no reply within ${endpoint.timeoutMs / 1000} s (${err.message}; --timeout sets the limit)` : err.message;
  return endpoint.password ? message.split(endpoint.password).join('***') : message;
}

/** Runs `fn` with a connection that is closed on every path, success or failure. */
export async function withRedis<T>(endpoint: RedisEndpoint, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis(endpoint);
  let answering = true;
  try {
    return await fn(redis);
  } catch (err) {
    // A reply that never came: name the server, as a failed connection does.
    if (err instanceof Error && !(err instanceof CliError) && /Command timed out/.test(err.message)) {
      answering = false;
      throw new CliError(`Redis at ${endpoint.display} did not answer: ${describe(err, endpoint)}`);
    }
    throw err;
  } finally {
    // QUIT waits for replies still in flight; disconnect() is the fallback when the link is gone.
    // A server that did not answer in time would not answer QUIT either (its reply queues behind
    // the stuck one): the run ends at once instead of waiting for it.
    if (answering) await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
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
