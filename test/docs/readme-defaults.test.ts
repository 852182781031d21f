import { readFileSync } from 'fs';
import * as path from 'path';
import {
  DEFAULT_APPEND_FSYNC, DEFAULT_EPHEMERAL_STORAGE_HEADROOM, DEFAULT_TMP_SIZE_LIMIT, DEFAULT_CREDENTIALS_SECRET, DEFAULT_LOG_LEVEL, DEFAULT_NAMESPACE, DEFAULT_PARALLELISM,
  DEFAULT_REDIS_RESOURCES, DEFAULT_REDIS_STORAGE, DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS,
  DEFAULT_SCRATCH_SIZE_LIMIT, DEFAULT_TTL_SECONDS_AFTER_FINISHED, DEFAULT_WORKER_RESOURCES,
} from '../../lib/defaults';
import {
  DEFAULT_KEDA_ACL_USER, DEFAULT_KEDA_ACTIVATION_LIST_LENGTH, DEFAULT_KEDA_FAILED_JOBS_HISTORY_LIMIT, DEFAULT_KEDA_LIST_LENGTH,
  DEFAULT_KEDA_MAX_REPLICA_COUNT, DEFAULT_KEDA_OPERATOR_NAMESPACE, DEFAULT_KEDA_OPERATOR_POD_LABELS, DEFAULT_KEDA_PASSWORD_SECRET,
  DEFAULT_KEDA_POLLING_INTERVAL, DEFAULT_KEDA_SCALING_STRATEGY, DEFAULT_KEDA_SUCCESSFUL_JOBS_HISTORY_LIMIT,
} from '../../lib/defaults';
import { PASSWORD_KEY } from '../../lib/redis-acl';
import { DEFAULT_DISABLED_COMMANDS } from '../../lib/redis-config';
import { DEFAULT_REDIS_IMAGE } from '../../lib/redis-queue-store';
import { DEFAULT_WAIT_FOR_WORK_SECONDS } from '../../lib/wait-for-work';
import { DEFAULT_INTER_DIR } from '../../protocol/workflows';

// The README's configuration tables document the defaults; the code has them as named constants.
// Each documented default must equal its constant, written as the README writes values.

const README = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

/** A value as the README's tables show it: `{ cpu: '1', memory: '4Gi' }`, `FLUSHALL FLUSHDB`, `60`. */
export function asDocumented(value: unknown): string {
  if (Array.isArray(value)) return value.join(' ');
  if (value !== null && typeof value === 'object') {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${typeof v === 'string' ? `'${v}'` : String(v)}`).join(', ')} }`;
  }
  return String(value);
}

/** The `default` cells of the table under `heading`, by the first column's code name. */
export function documentedDefaults(markdown: string, heading: string): Map<string, string> {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README has no heading ${JSON.stringify(heading)}`);
  const section = markdown.slice(start + heading.length + 2).split(/\n#{1,3} /)[0];
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = /^\|(.*)\|$/.exec(line.trim())?.[1].split(/(?<!\\)\|/).map((c) => c.trim());
    if (!cells || cells.length < 2) continue;
    const names = [...cells[0].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const value = /^`(.*)`$/.exec(cells[1])?.[1];
    if (value !== undefined) for (const name of names) rows.set(name, value);
  }
  return rows;
}

const TABLES: Array<[heading: string, defaults: Record<string, unknown>]> = [
  ['### `EnvironmentConfig`', { namespace: DEFAULT_NAMESPACE }],
  ['### Redis (`RedisQueueStoreProps`)', {
    image: DEFAULT_REDIS_IMAGE,
    storage: DEFAULT_REDIS_STORAGE,
    resources: DEFAULT_REDIS_RESOURCES,
    appendFsync: DEFAULT_APPEND_FSYNC,
    disabledCommands: DEFAULT_DISABLED_COMMANDS,
    terminationGracePeriodSeconds: DEFAULT_REDIS_TERMINATION_GRACE_PERIOD_SECONDS,
  }],
  ['### Workers (`WorkflowDeployment` = `WorkQueueJobProps` without `redis`)', {
    parallelism: DEFAULT_PARALLELISM,
    waitForWorkSeconds: DEFAULT_WAIT_FOR_WORK_SECONDS,
    ttlSecondsAfterFinished: DEFAULT_TTL_SECONDS_AFTER_FINISHED,
    credentialsSecret: DEFAULT_CREDENTIALS_SECRET,
    logLevel: DEFAULT_LOG_LEVEL,
    resources: DEFAULT_WORKER_RESOURCES,
    scratch: { path: DEFAULT_INTER_DIR, sizeLimit: DEFAULT_SCRATCH_SIZE_LIMIT },
    tmp: { sizeLimit: DEFAULT_TMP_SIZE_LIMIT },
    ephemeralStorageHeadroom: DEFAULT_EPHEMERAL_STORAGE_HEADROOM,
  }],
  ['#### `KedaScalingProps` (`scaling`)', {
    maxReplicaCount: DEFAULT_KEDA_MAX_REPLICA_COUNT,
    pollingInterval: DEFAULT_KEDA_POLLING_INTERVAL,
    scalingStrategy: DEFAULT_KEDA_SCALING_STRATEGY,
    successfulJobsHistoryLimit: DEFAULT_KEDA_SUCCESSFUL_JOBS_HISTORY_LIMIT,
    failedJobsHistoryLimit: DEFAULT_KEDA_FAILED_JOBS_HISTORY_LIMIT,
    listLength: DEFAULT_KEDA_LIST_LENGTH,
    activationListLength: DEFAULT_KEDA_ACTIVATION_LIST_LENGTH,
  }],
  ['#### `KedaOperatorProps` (`EnvironmentConfig.keda`)', {
    namespace: DEFAULT_KEDA_OPERATOR_NAMESPACE,
    podLabels: DEFAULT_KEDA_OPERATOR_POD_LABELS,
    aclUser: DEFAULT_KEDA_ACL_USER,
    passwordSecret: { name: DEFAULT_KEDA_PASSWORD_SECRET, key: PASSWORD_KEY },
  }],
];

describe.each(TABLES)('README table %s', (heading, defaults) => {
  const documented = documentedDefaults(README, heading);
  test.each(Object.entries(defaults))('`%s` documents its default', (prop, value) => {
    expect({ prop, default: documented.get(prop) }).toEqual({ prop, default: asDocumented(value) });
  });
});

describe('the table reader', () => {
  const markdown = '# x\n\n### T\n\n| prop | default | meaning |\n|---|---|---|\n| `a` | `1` | one |\n| `b`, `c` | `{ x: \'y\' }` | two |\n| `d` | — | none |\n\n### Next\n| `a` | `2` | other table |\n';
  test('reads the code-formatted default of each row, only in its own section', () => {
    expect(documentedDefaults(markdown, '### T')).toEqual(new Map([['a', '1'], ['b', "{ x: 'y' }"], ['c', "{ x: 'y' }"]]));
  });

  test('a README default that differs from its constant fails the check', () => {
    expect(documentedDefaults(markdown, '### T').get('a')).not.toBe(asDocumented(2));
  });
});
