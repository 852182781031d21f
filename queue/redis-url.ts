import { readFileSync } from 'fs';
import { DEFAULT_NAMESPACE } from '../lib/defaults';
import { ENVIRONMENTS } from '../lib/environments';
import { UsageError } from './errors';

/** Where `kubectl port-forward -n <namespace> svc/redis-master 6379:6379` makes the cluster's Redis answer. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

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

/** Seconds to wait for the connection and for each reply before giving up (`--timeout`). */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/**
 * A parsed, checked `--redis-url` plus its password and time limit: what connectRedis needs.
 * `display` is the URL fit for messages: it never holds the password, in any form.
 */
export interface RedisEndpoint {
  readonly display: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  readonly timeoutMs: number;
}

/** Where a password may come from besides the URL. */
export interface PasswordSources {
  /** `--password-file PATH`. */
  readonly passwordFile?: string;
  /** `--timeout SECONDS`, as typed. */
  readonly timeout?: string;
}

/**
 * `--redis-url`, else `$REDIS_URL`, else the port-forward default, parsed and checked: scheme
 * redis:// or rediss://, port 1-65535, database a non-negative integer, no query parameter
 * but `password`. The password comes from the URL, or (so that it need not show in `ps`)
 * from `--password-file`, `$REDIS_PASSWORD_FILE` or `$REDIS_PASSWORD`, never from two places.
 * @throws UsageError naming the value (password redacted) and what is allowed.
 */
export function resolveRedisUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, sources: PasswordSources = {}): RedisEndpoint {
  const raw = flag ?? (env.REDIS_URL || undefined) ?? DEFAULT_REDIS_URL;
  const shown = redactUrl(raw);
  const bad = (what: string): UsageError => new UsageError(`--redis-url ${what}, got '${shown}'`);
  const badPart = (what: string): UsageError => new UsageError(`--redis-url '${shown}': ${what}`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss') throw bad('must start with redis:// or rediss://');
  // Checked on the text first, so that a bad port is named rather than "invalid URL".
  const hostPort = hostPortOf(raw);
  const portText = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort)?.[1];
  const port = portText === undefined ? 6379 : Number(portText);
  if (portText !== undefined && (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535)) throw badPart(`port must be an integer 1-65535, got '${portText}'`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('is not a valid URL (a password with @, :, / or ? must be percent-encoded, or given by $REDIS_PASSWORD)');
  }
  if (url.hostname === '') throw badPart('no host');
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) throw badPart(`database must be an integer 0-99999 after the host, got '${path}'`);
  const db = path === '' ? 0 : Number(path);
  const unknown = [...url.searchParams.keys()].filter((k) => k !== 'password');
  if (unknown.length > 0) throw badPart(`the only query parameter allowed is 'password', got '${unknown.join("', '")}'`);
  if (url.hash !== '') throw badPart("a '#' part is not allowed (percent-encode it as %23 in a password)");

  const urlPassword = url.password !== '' ? decodeURIComponent(url.password) : url.searchParams.get('password') ?? undefined;
  const fromFile = sources.passwordFile ?? (env.REDIS_PASSWORD_FILE || undefined);
  const fromEnv = env.REDIS_PASSWORD || undefined;
  const given = [urlPassword !== undefined && 'the URL', fromFile !== undefined && (sources.passwordFile !== undefined ? '--password-file' : '$REDIS_PASSWORD_FILE'), fromEnv !== undefined && '$REDIS_PASSWORD'].filter(
    (s): s is string => s !== false,
  );
  if (given.length > 1) throw new UsageError(`the Redis password is given twice (${given.join(' and ')}); give it once`);
  const password = urlPassword ?? (fromFile !== undefined ? readPasswordFile(fromFile, sources.passwordFile !== undefined ? '--password-file' : '$REDIS_PASSWORD_FILE') : fromEnv);
  const username = url.username !== '' ? decodeURIComponent(url.username) : undefined;

  const timeoutText = sources.timeout ?? (env.ARD_QUEUE_TIMEOUT || undefined);
  const timeoutName = sources.timeout !== undefined ? '--timeout' : '$ARD_QUEUE_TIMEOUT';
  const timeoutSeconds = timeoutText === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(timeoutText);
  if (timeoutText !== undefined && (!/^\d+(\.\d+)?$/.test(timeoutText) || timeoutSeconds < 0.1 || timeoutSeconds > 3600)) {
    throw new UsageError(`${timeoutName} must be a number of seconds from 0.1 to 3600, got '${timeoutText}'`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const userinfo = username !== undefined ? `${encodeURIComponent(username)}${password !== undefined ? ':***' : ''}@` : password !== undefined ? ':***@' : '';
  const display = `${scheme}://${userinfo}${url.hostname}:${port}${db !== 0 ? `/${db}` : ''}`;
  return { display, host, port, db, tls: scheme === 'rediss', username, password, timeoutMs: Math.round(timeoutSeconds * 1000) };
}

/** The password of a password file: its first line, without the line break. */
function readPasswordFile(file: string, name: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${name} '${file}' cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const password = text.split(/\r?\n/)[0];
  if (password === '') throw new UsageError(`${name} '${file}' is empty; it must hold the password on its first line`);
  return password;
}

/**
 * The URL with anything that may be a password replaced by `***`, fit for messages and logs,
 * for any text, parseable or not: everything up to the last `@` of the authority (a password
 * may hold `@`, `:` or `/`) keeps only a user name without `@` or `:`, and a `password=`
 * query parameter loses its value. Errs on the side of hiding too much.
 */
export function redactUrl(url: string): string {
  const out = hidePasswordParameter(url);
  const start = out.indexOf('://');
  if (start === -1) return out.includes('@') ? `***@${out.slice(out.lastIndexOf('@') + 1)}` : out;
  const rest = out.slice(start + 3);
  // The last '@' anywhere: a password may hold '/', '?' or '#' too.
  const at = rest.lastIndexOf('@');
  if (at === -1) return out;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? '' : userinfo.slice(0, colon);
  const keep = colon !== -1 && !/[@/]/.test(user) ? `${user}:` : '';
  return `${out.slice(0, start + 3)}${keep}***@${rest.slice(at + 1)}`;
}

/** The URL with the value of a `password=` query parameter replaced by `***`. */
function hidePasswordParameter(url: string): string {
  return url.replace(/([?&;]password=)[^&#]*/gi, '$1***');
}

/** `host:port` of a URL: after `://` and the last '@', up to the first '/', '?' or '#'. */
function hostPortOf(raw: string): string {
  const rest = hidePasswordParameter(raw).slice(raw.indexOf('://') + 3);
  return rest.slice(rest.lastIndexOf('@') + 1).split(/[/?#]/)[0];
}
