/**
 * Redis 7 ACL users of the queue store, rendered as an ACL file template (plain text in the
 * `redis-config` ConfigMap, so a reviewer of dist/ reads exactly what each user may do) and the
 * init container's script that turns it into the ACL file, which Redis loads once it has loaded
 * its data (lib/redis-start.ts).
 *
 * - `default`: every client that does not AUTH — the worker images, which cannot. It may run
 *   exactly the worker protocol and the in-pod gates, on the environment's queue keys only:
 *   one ACL selector per purpose in {@link DEFAULT_USER_GRANTS}.
 * - `admin` ({@link ADMIN_USER}): the queue tool and the recovery CronJobs; its password comes
 *   from a Secret the operator creates, never from git or dist/.
 * - further users (e.g. a metrics exporter): {@link RedisAclUser}, each with its own Secret.
 *
 * Pure, so tests can run the same start-up script against a real redis-server.
 *
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/
 */
import { LEASE_HEARTBEAT_REDIS_COMMANDS } from './lease-heartbeat-contract';
import { QueueKeys, queueKeys } from '../protocol/queue-keys';
import { ConfigError } from './validation';

/** The administrative user: the queue tool (`redis://admin:…@…`) and the recovery CronJobs. */
export const ADMIN_USER = 'admin';

/** The Secret holding the admin password, created by the operator (see README, Security). */
export const DEFAULT_ADMIN_SECRET = 'redis-admin';

/** The key of a password in its Secret. */
export const PASSWORD_KEY = 'password';

/** Passwords shorter than this are refused at start-up: Redis checks AUTH at ~100k/s. */
export const MIN_PASSWORD_LENGTH = 16;

/**
 * The worker images' completion is `DEL <lease key> <session id>`: the second key is named
 * after the bare session id (`str(uuid.uuid4())`), a harmless bug of the original. This glob
 * admits exactly 36-character keys with dashes where a UUID has them, and no key of ours.
 */
export const SESSION_ID_KEY_PATTERN = '????????-????-????-????-????????????';

/** What one purpose needs: commands, on the keys of each queue (none: keyless commands). */
export interface AclGrant {
  /** Shown as a comment above the rules in the ConfigMap. */
  readonly purpose: string;
  /** Command names (lower case), `+` is added. */
  readonly commands: readonly string[];
  /** Key patterns of one queue; one selector gets them for every queue. */
  readonly keys: (keys: QueueKeys) => readonly string[];
}

/**
 * Everything an unauthenticated client may do, one selector per purpose. Adding a purpose
 * (e.g. the lease heartbeat) is one entry here; the ACL tests show what default may not do.
 */
export const DEFAULT_USER_GRANTS: readonly AclGrant[] = [
  {
    purpose: 'connection check: the probes, the gates, client set-up',
    commands: ['ping'],
    keys: () => [],
  },
  {
    purpose: 'workers: empty(), take (block=True/False), finish (rediswq.py)',
    commands: ['llen', 'brpoplpush', 'rpoplpush', 'lrem'],
    keys: (k) => [k.pending, k.processing],
  },
  {
    purpose: 'workers: lease an item',
    commands: ['setex'],
    keys: (k) => [`${k.leasePrefix}*`],
  },
  {
    purpose: 'workers: release the lease (one DEL of the lease key and of a key named after the bare session id)',
    commands: ['del'],
    keys: (k) => [`${k.leasePrefix}*`, SESSION_ID_KEY_PATTERN],
  },
  {
    purpose: 'workers: the lease heartbeat renews a lease while it still holds the worker\'s session id',
    commands: LEASE_HEARTBEAT_REDIS_COMMANDS.map((c) => c.toLowerCase()),
    keys: (k) => [`${k.leasePrefix}*`],
  },
  {
    purpose: 'gates in the worker pods: wait for Redis and for work',
    commands: ['ping', 'llen'],
    keys: (k) => [k.pending, k.processing],
  },
];

/** A reference to one key of a Secret that the operator creates. */
export interface SecretKeyReference {
  readonly name: string;
  /** @default PASSWORD_KEY ("password") */
  readonly key?: string;
}

/** An authenticated ACL user whose password comes from a Secret. */
export interface RedisAclUser {
  /** ACL user name: lower-case letters, digits, '-' and '_'. */
  readonly name: string;
  /**
   * ACL rules, without passwords (`>`, `<`, `#`, `!`, `nopass`, `resetpass` are refused),
   * e.g. `['resetchannels', '-@all', '+info', '+ping']`. The user starts from no keys and
   * no commands (`reset`).
   */
  readonly rules: readonly string[];
  /** Where its password is, e.g. `{ name: 'redis-exporter' }`. */
  readonly passwordSecret: SecretKeyReference;
}

const USER_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const RULE_TOKEN = /^[^\s()]+$/;

/** An ACL user name of ours: it names a password file too, and is never `default`. */
export function aclUserName(field: string, name: string): string {
  if (!USER_NAME.test(name) || name === 'default') {
    throw new ConfigError(`'${field}' must be lower-case letters, digits, '-' and '_' and not "default", got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Validates a user's rules; they are written into the ACL file verbatim. */
export function aclUser(field: string, user: RedisAclUser): RedisAclUser {
  aclUserName(`${field}.name`, user.name);
  for (const rule of user.rules) {
    const tokens = rule.replace(/^\(|\)$/g, '').split(' ');
    for (const token of tokens) {
      if (!RULE_TOKEN.test(token) || /^[<>#!]/.test(token) || ['nopass', 'resetpass', 'on', 'off', 'reset'].includes(token.toLowerCase())) {
        throw new ConfigError(
          `'${field}.rules' must be ACL rules without passwords or on/off/reset (a password comes from 'passwordSecret'), got ${JSON.stringify(rule)}`,
        );
      }
    }
  }
  return user;
}

/** The default user's rules for these queues: nothing, then one selector per grant. */
export function defaultUserRules(queues: readonly string[], grants: readonly AclGrant[] = DEFAULT_USER_GRANTS): string[] {
  return [
    'on', 'nopass', 'resetkeys', 'resetchannels', '-@all',
    ...grants.map((g) => selector(g, queues)),
  ];
}

function selector(grant: AclGrant, queues: readonly string[]): string {
  const keys = [...new Set(queues.flatMap((q) => grant.keys(queueKeys(q))))];
  return `(${[...keys.map((k) => `~${k}`), ...grant.commands.map((c) => `+${c}`)].join(' ')})`;
}

/**
 * The ACL file template: comments, then one `user` line per user. The start-up script
 * ({@link ACL_BUILD_SCRIPT}) drops the comments and appends each password user's hash.
 */
export function renderAclTemplate(queues: readonly string[], users: readonly RedisAclUser[]): string {
  const lines = [
    '# Generated by lib/redis-acl.ts. At start-up the "acl" init container drops these comments,',
    '# appends "#<sha256 of the password>" to each user but default (passwords from Secrets),',
    '# and Redis loads the result once it has loaded its data (lib/redis-start.ts).',
    '#',
    '# default: every client that does not AUTH, i.e. the worker images. Nothing but:',
    ...DEFAULT_USER_GRANTS.map((g) => `#   ${selector(g, queues)}  ${g.purpose}`),
    `user default ${defaultUserRules(queues).join(' ')}`,
  ];
  for (const user of users) {
    lines.push(
      '#',
      `# ${user.name}: password from the Secret "${user.passwordSecret.name}", key "${user.passwordSecret.key ?? PASSWORD_KEY}".`,
      `user ${user.name} on resetpass resetkeys resetchannels -@all ${user.rules.join(' ')}`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * The init container's script: template + password files → ACL file. Paths come from the
 * environment (ACL_TEMPLATE, ACL_USERS_DIR, ACL_FILE), so tests run it unchanged on temp dirs.
 * Fails loudly on a missing, short or whitespace-containing password; stores only its SHA-256.
 */
export const ACL_BUILD_SCRIPT = [
  'set -eu',
  'umask 077',
  'fail() { echo "redis-acl: $*" >&2; exit 1; }',
  'tmp="$ACL_FILE.tmp"',
  `grep -v -e '^#' -e '^$' "$ACL_TEMPLATE" > "$tmp"`,
  `for user in $(sed -n 's/^user \\([^ ]*\\) .*/\\1/p' "$tmp"); do`,
  '  [ "$user" = default ] && continue',
  '  file="$ACL_USERS_DIR/$user"',
  '  [ -s "$file" ] || fail "no password for Redis user $user in $file: create its Secret (README, Security)"',
  `  if [ "$(wc -l < "$file")" -ne 0 ] || grep -q '[[:space:]]' "$file"; then`,
  '    fail "the password of Redis user $user must not contain whitespace or a newline"',
  '  fi',
  `  [ "$(wc -c < "$file")" -ge ${MIN_PASSWORD_LENGTH} ] || fail "the password of Redis user $user must have at least ${MIN_PASSWORD_LENGTH} characters"`,
  `  hash="$(sha256sum < "$file" | cut -d ' ' -f 1)"`,
  '  sed -i "s/^user $user .*/& #$hash/" "$tmp"',
  'done',
  'mv "$tmp" "$ACL_FILE"',
  'echo "redis-acl: wrote $ACL_FILE"',
].join('\n') + '\n';

/** Command names as ACL rules take them: `flushall`, `config|set`. */
export function commandName(field: string, command: string): string {
  if (!/^[a-z][a-z0-9_-]*(\|[a-z][a-z0-9_-]*)?$/i.test(command)) {
    throw new ConfigError(`'${field}' must hold Redis command names such as "FLUSHALL" or "CONFIG|SET", got ${JSON.stringify(command)}`);
  }
  return command.toLowerCase();
}

/** Queue names go into ACL key patterns: no glob characters, spaces or parentheses. */
export function aclSafeQueue(field: string, queue: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(queue)) {
    throw new ConfigError(`'${field}' must be letters, digits, '_', '.', ':' and '-' (it becomes an ACL key pattern), got ${JSON.stringify(queue)}`);
  }
  return queue;
}
