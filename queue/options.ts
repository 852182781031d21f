/**
 * Every option of the queue tool, declared once: how `util.parseArgs` reads it and its line in
 * `--help`. A subcommand picks the options it takes; its help's "Options:" block is rendered
 * from the same entries, so a flag and its help cannot drift apart.
 */
import type { ParseArgsConfig } from 'util';
import { DEFAULT_GRACE_SECONDS, DEFAULT_MAX_ATTEMPTS } from '../protocol/recovery';
import { DEFAULT_WORKFLOW } from '../protocol/workflows';
import { ITEM_FIELD_OPTIONS } from './items';
import { DEFAULT_REDIS_URL, DEFAULT_TIMEOUT_SECONDS } from './redis-url';
import { DEFAULT_WATCH_INTERVAL_SECONDS, WATCH_INTERVAL_RANGE } from './watch';

/** One command-line option. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder of the value in help, e.g. `NAME`. */
  readonly value?: string;
  /** Help text; further lines are indented under the first. */
  readonly help: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** Options every subcommand takes: which queue, which Redis, output format. */
export const COMMON_OPTIONS = {
  workflow: { type: 'string', short: 'w', value: 'NAME', help: `workflow whose queue, scene-ID rule and item fields apply (default ${DEFAULT_WORKFLOW})` },
  queue: { type: 'string', short: 'q', value: 'NAME', help: "queue name (default: the workflow's); alone, selects the workflow owning it" },
  'redis-url': {
    type: 'string',
    value: 'URL',
    help: `default $REDIS_URL, else ${DEFAULT_REDIS_URL}, e.g. redis://admin@HOST:PORT/DB;\nthe password: $REDIS_PASSWORD, $REDIS_PASSWORD_FILE, --password-file\nor in the URL (shown in ps: avoid)`,
  },
  'password-file': { type: 'string', value: 'PATH', help: 'read the Redis password from the first line of PATH' },
  timeout: { type: 'string', value: 'SECONDS', help: `give up when Redis does not connect or answer within SECONDS\n(default $ARD_QUEUE_TIMEOUT, else ${DEFAULT_TIMEOUT_SECONDS})` },
  json: { type: 'boolean', help: 'print a JSON result on stdout' },
} as const satisfies OptionTable;

/** Further options, each taken by one or more subcommands. */
export const OPTIONS = {
  ...COMMON_OPTIONS,
  ...ITEM_FIELD_OPTIONS,
  file: { type: 'string', short: 'f', value: 'PATH|-', help: 'read scene IDs from PATH, or from stdin with -' },
  force: {
    type: 'boolean',
    help: 'push scenes even if enqueued by an earlier run (e.g. to reprocess them),\nbut never a second copy of an item that is pending or processing now',
  },
  'no-dedupe': {
    type: 'boolean',
    help: 'skip the dedupe check, for speed: you vouch the scenes are new and the\ninput has no repeats (a repeat is pushed twice); scenes are still\nrecorded, so later runs dedupe',
  },
  'dry-run': { type: 'boolean', help: 'report what would be done; write nothing' },
  'allow-empty': { type: 'boolean', help: 'an input without any scene ID is not an error (exit 0, nothing pushed)' },
  'grace-seconds': {
    type: 'string',
    value: 'N',
    help: `seconds an item must be seen unleased before it moves\n(default ${DEFAULT_GRACE_SECONDS}; 0 moves at first sight, risking a\nworker that has taken but not yet leased its item)`,
  },
  'max-attempts': { type: 'string', value: 'K', help: `the K-th take-back dead-letters the item (default ${DEFAULT_MAX_ATTEMPTS})` },
  limit: { type: 'string', value: 'N', help: 'show at most N items (the total is always reported)' },
  all: { type: 'boolean', help: 'every dead-lettered item' },
  interval: {
    type: 'string',
    value: 'SECONDS',
    help: `seconds between refreshes, ${WATCH_INTERVAL_RANGE.min} to ${WATCH_INTERVAL_RANGE.max} (default ${DEFAULT_WATCH_INTERVAL_SECONDS})`,
  },
} as const satisfies OptionTable;

export type OptionName = keyof typeof OPTIONS;

/** The options `names`, with per-subcommand help where the meaning narrows (e.g. what --json prints). */
export function pickOptions(names: readonly OptionName[], help: Partial<Record<OptionName, string>> = {}): OptionTable {
  return Object.fromEntries(names.map((name) => [name, help[name] === undefined ? OPTIONS[name] : { ...OPTIONS[name], help: help[name] }]));
}

/** The table as `util.parseArgs` options. */
export function parseArgsOptions(table: OptionTable): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(table).map(([name, spec]) => [name, spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short }]),
  );
}

/** The "Options:" block of a subcommand's help, `--help` last. */
export function optionsHelp(table: OptionTable): string {
  const rows = [
    ...Object.entries(table).map(([name, spec]) => [`${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`, spec.help] as const),
    ['-h, --help', 'show this help'] as const,
  ];
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return rows
    .map(([flag, help]) => `  ${flag.padEnd(width)}${help.split('\n').join(`\n  ${' '.repeat(width)}`)}`)
    .join('\n');
}
