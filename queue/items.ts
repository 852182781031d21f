import { DEFAULT_INTER_DIR, WorkflowDefinition } from '../protocol/workflows';
import { UsageError } from './errors';

/** S3 bucket naming rule (3-63 lowercase letters, digits, dots, hyphens). */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The enqueue options that set an item field: the field (worker keyword argument) each sets, its
 * help line, and the check of its value beyond "non-empty, no control characters". A new item
 * field is one entry here (and the workflows that accept it list it in `itemFields`).
 */
export const ITEM_FIELD_OPTIONS = {
  'inter-dir': {
    type: 'string',
    value: 'DIR',
    field: 'inter_dir',
    help: `item field inter_dir: absolute path ending in '/' (default ${DEFAULT_INTER_DIR})`,
    // Workers build paths by string concatenation, as their default '/tmp/data/intermediate/' shows.
    check: (value: string) =>
      !value.startsWith('/') || !value.endsWith('/')
        ? `must be an absolute directory path ending in '/', e.g. ${DEFAULT_INTER_DIR}, got '${value}'`
        : value.split('/').some((segment) => segment === '..' || segment === '.')
          ? `must not have '.' or '..' segments (the worker's scratch mount is the only writable place), got '${value}'`
          : undefined,
  },
  's3-bucket': {
    type: 'string',
    value: 'B',
    field: 's3_bucket',
    help: 'item field s3_bucket (only for workflows that accept it)',
    check: (value: string) => (S3_BUCKET.test(value) ? undefined : `must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-'), got '${value}'`),
  },
  's3-dir': { type: 'string', value: 'D', field: 's3_dir', help: 'item field s3_dir (only for workflows that accept it)', check: undefined },
} as const;

export type FieldFlag = keyof typeof ITEM_FIELD_OPTIONS;

/**
 * The fields every item of this run carries besides `in_scene`: the workflow's defaults
 * overridden by flags, in the workflow's `itemFields` order. A flag whose field the workflow's
 * function does not accept is refused: the worker would crash on the unknown keyword argument.
 */
export function itemFields(workflow: WorkflowDefinition, flags: Partial<Record<FieldFlag, string>>): Array<[string, string]> {
  const values: Record<string, string> = { ...workflow.itemDefaults };
  for (const [flag, value] of Object.entries(flags) as Array<[FieldFlag, string | undefined]>) {
    if (value === undefined) continue;
    const field = ITEM_FIELD_OPTIONS[flag].field;
    if (!workflow.itemFields.includes(field)) {
      throw new UsageError(
        `--${flag} sets '${field}', which workflow '${workflow.name}' does not accept; its item fields are: ${workflow.itemFields.join(', ')}`,
      );
    }
    values[field] = checkFieldValue(flag, value);
  }
  for (const field of Object.keys(values)) {
    if (!workflow.itemFields.includes(field)) {
      throw new Error(`workflow '${workflow.name}' has a default for '${field}', which is not one of its itemFields`);
    }
  }
  return workflow.itemFields.filter((f) => values[f] !== undefined).map((f) => [f, values[f]]);
}

function checkFieldValue(flag: FieldFlag, value: string): string {
  if (value === '' || CONTROL.test(value)) throw new UsageError(`--${flag} must be a non-empty string without control characters, got ${JSON.stringify(value)}`);
  const problem = ITEM_FIELD_OPTIONS[flag].check?.(value);
  if (problem !== undefined) throw new UsageError(`--${flag} ${problem}`);
  return value;
}

/** The `in_scene` of a JSON work item, or `undefined` for an item that is not such an object. */
export function sceneOfItem(item: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(item);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const scene = (parsed as Record<string, unknown>).in_scene;
      return typeof scene === 'string' ? scene : undefined;
    }
  } catch {
    // Not JSON: the item has no scene, and is matched by its exact text only.
  }
  return undefined;
}

/**
 * Builds the items of one run. An item is compact JSON with `in_scene` first, then the run's
 * fields: `{"in_scene":"S2A_…","inter_dir":"/data/intermediate/"}`. Identical scenes give
 * byte-identical items, which the lease keys (sha224 of the item bytes) rely on.
 */
export class ItemTemplate {
  /** The item's bytes before the scene ID (including its opening quote). */
  readonly prefix: string;
  /** The item's bytes after the scene ID (from its closing quote). */
  readonly suffix: string;

  constructor(readonly fields: ReadonlyArray<readonly [string, string]>) {
    this.prefix = '{"in_scene":"';
    this.suffix = '"' + fields.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('') + '}';
  }

  /** The item of `scene`, which must be JSON-safe (see sceneProblem). */
  item(scene: string): string {
    return this.prefix + scene + this.suffix;
  }
}

/** Printable ASCII except '"' and '\\': needs no JSON escaping and is one byte per character. */
const ITEM_SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Longest input line echoed back in an error message. */
const SHOWN_CHARS = 80;

/** `'value'` for messages, cut short when long. */
export function quoteForMessage(value: string): string {
  const shown = value.length > SHOWN_CHARS ? value.slice(0, SHOWN_CHARS) + '…' : value;
  // Control characters are shown escaped (\t, \u0000) so a message stays on one line.
  return `'${shown.replace(new RegExp(CONTROL.source, 'g'), (c) => JSON.stringify(c).slice(1, -1))}'`;
}

/**
 * Why `scene` is not a valid `in_scene` for `workflow`, or `undefined` when it is. The reason
 * is short; the rule's full description is shown once after the list of bad lines.
 */
export function sceneProblem(workflow: WorkflowDefinition, scene: string): string | undefined {
  if (workflow.sceneId.pattern.test(scene)) {
    // Items are built by concatenation, their RESP length counted as one byte per character, and
    // digests hash char codes as bytes: only printable ASCII without '"' and '\\' may pass.
    if (!ITEM_SAFE.test(scene)) return `${quoteForMessage(scene)} contains characters that need escaping in JSON or are not printable ASCII`;
    const valid = workflow.sceneId.valid;
    if (valid !== undefined && !valid(Buffer.from(scene, 'latin1'), 0, scene.length)) {
      return `${quoteForMessage(scene)} is not a valid ${workflow.name} scene ID: ${workflow.sceneId.problem?.(scene) ?? 'a part is out of range'}`;
    }
    return undefined;
  }
  if (scene.includes('\r')) {
    return `${quoteForMessage(scene)} contains a carriage return (CR): lines must end in LF or CRLF, not CR alone; convert the file with: tr '\\r' '\\n' < FILE > FILE.lf`;
  }
  if (/\s/.test(scene)) return `${quoteForMessage(scene)} contains whitespace; give one scene ID per line`;
  if (scene.startsWith('{')) return `${quoteForMessage(scene)} looks like a JSON item; give bare scene IDs, the tool builds the items`;
  const problem = workflow.sceneId.problem?.(scene);
  return `${quoteForMessage(scene)} is not a valid ${workflow.name} scene ID${problem === undefined ? '' : `: ${problem}`}`;
}
