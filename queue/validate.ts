import { isAscii } from 'buffer';
import { once } from 'events';
import type { Readable, Writable } from 'stream';
import type { WorkflowDefinition } from '../protocol/workflows';
import { sceneProblem } from './items';
import { HASH, isTrimmedByte, LF, lineTooLong, linePieces, parseSceneLine, SceneLine, trimmedEnd, trimmedStart } from './scene-lines';

/** How many bad lines are listed before "… and N more". */
export const MAX_REPORTED_PROBLEMS = 20;

/** The outcome of the validation pass over the whole input. */
export interface ValidationReport {
  /** Number of valid scene IDs (duplicates included). */
  readonly valid: number;
  /** Number of invalid lines. */
  readonly invalid: number;
  /** What a numbered input unit is called in messages. */
  readonly unit: 'line' | 'argument';
  /** The first MAX_REPORTED_PROBLEMS invalid lines, as `line N: reason` (or `argument N: …`). */
  readonly problems: readonly string[];
}

/** Counts valid and invalid scene IDs, keeping the first MAX_REPORTED_PROBLEMS reasons. */
class Tally {
  valid = 0;
  invalid = 0;
  readonly problems: string[] = [];

  constructor(
    private readonly workflow: WorkflowDefinition,
    private readonly unit: 'line' | 'argument',
  ) {}

  /**
   * Checks the ASCII scene ID `bytes[start..end)` of input line `line`: by the workflow's byte
   * rule when it has one and accepts it, else as a string (sceneProblem). Returns whether it is valid.
   */
  checkBytes(line: number, bytes: Buffer, start: number, end: number): boolean {
    if (this.workflow.sceneId.valid?.(bytes, start, end)) {
      this.valid += 1;
      return true;
    }
    return this.check(line, bytes.toString('latin1', start, end));
  }

  /** Checks the scene ID `scene` of input line `line` as a string (sceneProblem); returns whether it is valid. */
  check(line: number, scene: string): boolean {
    const problem = sceneProblem(this.workflow, scene);
    if (problem === undefined) {
      this.valid += 1;
      return true;
    }
    this.invalid += 1;
    if (this.problems.length < MAX_REPORTED_PROBLEMS) this.problems.push(`${this.unit} ${line}: ${problem}`);
    return false;
  }

  report(): ValidationReport {
    return { valid: this.valid, invalid: this.invalid, problems: this.problems, unit: this.unit };
  }
}

/** Validates every scene ID of `lines` (scene IDs given as strings: arguments), streaming. */
export async function validateScenes(lines: AsyncIterable<SceneLine[]>, workflow: WorkflowDefinition, unit: 'line' | 'argument' = 'line'): Promise<ValidationReport> {
  const tally = new Tally(workflow, unit);
  for await (const chunk of lines) {
    for (const { line, scene } of chunk) tally.check(line, scene);
  }
  return tally.report();
}

/** Options of validateSceneBytes. */
export interface ByteValidationOptions {
  /** Called with each chunk of input before any of its lines is checked (the file's checksums). */
  readonly onChunk?: (chunk: Buffer) => void;
  /** Where the valid scene IDs are written, one per line: input that cannot be read twice (stdin). */
  readonly spool?: Writable;
  /** Refuse (UsageError) a line longer than this many characters as soon as it is seen. */
  readonly maxLineChars: number;
}

/**
 * Validates every line of a file's or stdin's bytes, streaming, with the rules and messages of
 * readSceneLines + validateScenes. A piece of input that is all ASCII (nearly every input) is
 * checked where it lies: lines split and trimmed as bytes, each scene ID checked by its
 * workflow's `valid` on the bytes, with no string per line. A line `valid` refuses, a workflow
 * without `valid`, and every line of a piece with other bytes (decoded as UTF-8: trim() strips
 * Unicode spaces, which a byte scan does not know) take the string path, which decides and says why.
 */
export async function validateSceneBytes(
  chunks: Readable | AsyncIterable<Buffer> | Iterable<Buffer>,
  workflow: WorkflowDefinition,
  options: ByteValidationOptions,
): Promise<ValidationReport> {
  const tally = new Tally(workflow, 'line');
  const { spool, maxLineChars } = options;
  const valid = workflow.sceneId.valid;
  let line = 0;
  let sceneLength = 0; // of the last valid ASCII scene ID
  for await (const { bytes, end, unfinished } of linePieces(chunks, options.onChunk)) {
    const ascii = isAscii(bytes.subarray(0, end + unfinished));
    const spooled = spool ? Buffer.allocUnsafe(end + 1) : undefined; // scene IDs are no longer than their lines, plus a last LF
    let spooledEnd = 0;
    for (let start = 0; start < end; ) {
      // Nearly every line is a valid scene ID as long as the last one: checked where it lies
      // first, without searching for its end or trimming it (`valid` refuses an LF inside).
      const guessEnd = start + sceneLength;
      if (ascii && guessEnd < end && bytes[guessEnd] === LF && bareScene(bytes, start, guessEnd) && valid?.(bytes, start, guessEnd)) {
        line += 1;
        tally.valid += 1;
        if (spooled) spooledEnd += bytes.copy(spooled, spooledEnd, start, guessEnd + 1);
        start = guessEnd + 1;
        continue;
      }
      let lineEnd = bytes.indexOf(LF, start);
      if (lineEnd === -1 || lineEnd >= end) lineEnd = end; // the input's last line, without LF
      line += 1;
      if (ascii) {
        if (lineEnd - start > maxLineChars) throw lineTooLong(line, maxLineChars);
        const sceneStart = trimmedStart(bytes, start, lineEnd);
        const sceneEnd = trimmedEnd(bytes, sceneStart, lineEnd);
        if (sceneStart < sceneEnd && bytes[sceneStart] !== HASH && tally.checkBytes(line, bytes, sceneStart, sceneEnd)) {
          sceneLength = sceneEnd - sceneStart;
          if (spooled) {
            spooledEnd += bytes.copy(spooled, spooledEnd, sceneStart, sceneEnd);
            spooled[spooledEnd++] = LF;
          }
        }
      } else {
        const text = bytes.toString('utf8', start, lineEnd);
        if (text.length > maxLineChars) throw lineTooLong(line, maxLineChars);
        const scene = parseSceneLine(text);
        if (scene !== undefined && tally.check(line, scene) && spooled) {
          spooledEnd += spooled.write(scene, spooledEnd, 'latin1'); // a valid scene ID is printable ASCII
          spooled[spooledEnd++] = LF;
        }
      }
      start = lineEnd + 1;
    }
    // Checked before the next chunk is appended: a line without end costs no more than this.
    if (unfinished > maxLineChars && (ascii ? unfinished : bytes.toString('utf8', end, end + unfinished).length) > maxLineChars) {
      throw lineTooLong(line + 1, maxLineChars);
    }
    if (spool && spooledEnd > 0 && !spool.write(spooled!.subarray(0, spooledEnd))) await once(spool, 'drain');
  }
  return tally.report();
}

/** Whether `bytes[start..end)` is a whole line as it is, not trimmed and not a comment, unless empty. */
function bareScene(bytes: Buffer, start: number, end: number): boolean {
  return start < end && bytes[start] !== HASH && !isTrimmedByte(bytes[start]) && !isTrimmedByte(bytes[end - 1]);
}

/** The message of a refused input: every reported line, the count of the rest, and the rule. */
export function formatValidationFailure(report: ValidationReport, source: string, workflow: WorkflowDefinition): string {
  const more = report.invalid - report.problems.length;
  return [
    `${source}: ${report.invalid} invalid ${report.unit}${report.invalid === 1 ? '' : 's'}; nothing was pushed`,
    ...report.problems.map((p) => `  ${p}`),
    ...(more > 0 ? [`  … and ${more} more`] : []),
    `scene IDs of workflow ${workflow.name} must be ${workflow.sceneId.description}`,
  ].join('\n');
}
