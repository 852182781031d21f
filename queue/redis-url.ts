import { UsageError } from './errors';

/** Where `kubectl port-forward -n <namespace> svc/redis-master 6379:6379` makes the cluster's Redis answer. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `--redis-url`, else `$REDIS_URL`, else the port-forward default. */
export function resolveRedisUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const url = flag ?? (env.REDIS_URL || undefined) ?? DEFAULT_REDIS_URL;
  if (!/^rediss?:\/\//.test(url)) {
    throw new UsageError(`--redis-url must start with redis:// or rediss://, got '${redactUrl(url)}'`);
  }
  return url;
}

/** The URL with its password replaced by `***`, fit for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
