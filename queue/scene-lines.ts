import { UsageError } from './errors';
import { closeSync, openSync, readSync } from 'fs';
import type { Readable } from 'stream';
import { isAscii } from 'buffer';
import { StringDecoder } from 'string_decoder';
import * as zlib from 'zlib';
import { groupDigits } from './terminal';

/** One scene ID from the input, with where it came from for error messages. */
export interface SceneLine {
  /** 1-based line number (or argument number for scene IDs given as arguments). */
  readonly line: number;
  readonly scene: string;
}

/**
 * The scene ID on one input line: surrounding whitespace trimmed; `undefined` for a blank
 * line or a `#` comment line.
 */
export function parseSceneLine(raw: string): string | undefined {
  const text = raw.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  return text;
}

/** Options of readSceneLines. */
export interface ReadOptions {
  /**
   * `latin1` decoding is faster and fits input already validated as ASCII (the push pass): any
   * other byte becomes a character outside ASCII, which validation refuses. Default `utf8`.
   */
  readonly encoding?: 'utf8' | 'latin1';
  /** Called with each raw chunk before any of its lines is yielded; may throw to stop. */
  readonly onChunk?: (chunk: Buffer) => void;
  /**
   * Refuse (UsageError) a line longer than this many characters as soon as it is seen, so that
   * any input is read in linear time and bounded memory. Default: no limit.
   */
  readonly maxLineChars?: number;
}

/**
 * Streams the scene IDs of `input` in chunks of lines: a million-line file is never held whole
 * in memory. Yielding a chunk's lines at once (rather than one promise per line, as
 * `readline`'s iterator does) keeps a million lines well under a second. LF and CRLF line ends.
 */
export async function* readSceneLines(input: Readable | Iterable<Buffer>, options: ReadOptions = {}): AsyncGenerator<SceneLine[]> {
  // The decoder keeps a multi-byte character split across chunks whole.
  const decoder = new StringDecoder(options.encoding ?? 'utf8');
  let line = 0;
  let rest = '';
  const maxLine = options.maxLineChars ?? Infinity;
  for await (const raw of input as AsyncIterable<Buffer | string> | Iterable<Buffer>) {
    const buffer = typeof raw === 'string' ? Buffer.from(raw) : raw;
    options.onChunk?.(buffer);
    const text = rest + decoder.write(buffer);
    const scenes: SceneLine[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      line += 1;
      const raw = text.slice(start, end);
      if (raw.length > maxLine) throw lineTooLong(line, maxLine);
      const scene = parseSceneLine(raw);
      if (scene !== undefined) scenes.push({ line, scene });
      start = end + 1;
    }
    rest = text.slice(start);
    // Checked before the next chunk is appended: a line without end costs no more than this.
    if (rest.length > maxLine) throw lineTooLong(line + 1, maxLine);
    if (scenes.length > 0) yield scenes;
  }
  const last = rest + decoder.end(); // a last line without a newline
  if (last.length > maxLine) throw lineTooLong(line + 1, maxLine);
  const scene = parseSceneLine(last);
  if (scene !== undefined) yield [{ line: line + 1, scene }];
}

/**
 * Longest input line the validation pass accepts, in characters: a scene ID is under 100, a
 * comment may say more. An 80 MB line is refused after its first chunk.
 */
export const MAX_LINE_CHARS = 1_000;

/** The error of a line over `maxLine` characters. */
export function lineTooLong(line: number, maxLine: number): UsageError {
  return new UsageError(`line ${line} is longer than ${groupDigits(maxLine)} characters (a scene ID has under 100): is this the right input?`);
}

/** Bytes per read of readSceneFile. */
export const READ_CHUNK_BYTES = 64 << 10;

/**
 * readSceneLines of a file by path, read in 64 KiB chunks with synchronous reads: a stream's
 * reads go through the thread pool, one chunk at a time, which left the process idle ~60 ms per
 * pass over a million lines; a local file's read from the page cache takes microseconds.
 * Larger chunks decode to strings that V8 allocates outside the young generation, so they pile
 * up until a full GC (1 MiB chunks cost ~60 MB more peak RSS on a million lines).
 */
export function readSceneFile(path: string, options: ReadOptions = {}): AsyncGenerator<SceneLine[]> {
  return readSceneLines(fileChunks(path), options);
}

/** The chunks of a file, READ_CHUNK_BYTES each (the last one shorter), read synchronously into one reused buffer. */
export function* fileChunks(path: string): Generator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    for (;;) {
      const length = readSync(fd, buffer, 0, READ_CHUNK_BYTES, null);
      if (length === 0) return;
      yield buffer.subarray(0, length); // used up (decoded, checked) before the next read
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Proof that a file read twice (validation pass, then push pass) did not change in between,
 * without validating every line again: the validation pass records the length and CRC-32 of
 * each chunk read (4 bytes per 64 KiB), the push pass checks each chunk before using any of
 * its lines. Both passes read the same file with the same chunk size, so chunks line up; a
 * file that changed (or was read in other chunks) fails the check, never passes it wrongly
 * short of a CRC-32 collision on a modified chunk.
 */
export class ChunkChecksums {
  private readonly sums: number[] = [];
  private readonly lengths: number[] = [];
  private checked = 0;
  /** Whether every chunk recorded was ASCII, so the push pass may decode it as latin1. */
  ascii = true;

  /** Whether this Node has zlib.crc32 (Node ≥ 20.15); without it, the caller revalidates lines. */
  static get available(): boolean {
    return typeof (zlib as { crc32?: unknown }).crc32 === 'function' && typeof isAscii === 'function';
  }

  /** Validation pass: remembers `chunk`. */
  record(chunk: Buffer): void {
    if (this.ascii && !isAscii(chunk)) this.ascii = false;
    this.sums.push(crc32(chunk));
    this.lengths.push(chunk.length);
  }

  /** Push pass: throws `changed()` unless `chunk` is the next chunk recorded. */
  verify(chunk: Buffer, changed: () => Error): void {
    const i = this.checked++;
    if (i >= this.sums.length || this.lengths[i] !== chunk.length || this.sums[i] !== crc32(chunk)) throw changed();
  }

  /** Push pass, at the end: throws `changed()` if the file got shorter. */
  verifyComplete(changed: () => Error): void {
    if (this.checked !== this.sums.length) throw changed();
  }
}

function crc32(chunk: Buffer): number {
  return (zlib as unknown as { crc32(data: Uint8Array): number }).crc32(chunk);
}

/** Scene IDs given as command-line arguments, numbered like lines. */
export async function* argumentScenes(args: readonly string[]): AsyncGenerator<SceneLine[]> {
  const scenes: SceneLine[] = [];
  args.forEach((arg, i) => {
    const scene = parseSceneLine(arg);
    if (scene !== undefined) scenes.push({ line: i + 1, scene });
  });
  if (scenes.length > 0) yield scenes;
}

/**
 * The scene IDs of one piece of input as byte ranges: scene i is `bytes[starts[i]..ends[i])`.
 * The push pass hashes and copies the bytes where they lie, with no string per scene. A list
 * yielded by readSceneFileRanges is reused: it is valid until the next one is requested.
 */
export class SceneRanges {
  starts: Int32Array;
  ends: Int32Array;
  count = 0;

  constructor(
    public bytes: Buffer,
    capacity = 1024,
  ) {
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
  }

  /** Empties the list for new ranges of `bytes`. */
  reset(bytes: Buffer): void {
    this.bytes = bytes;
    this.count = 0;
  }

  push(start: number, end: number): void {
    if (this.count === this.starts.length) this.grow();
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count += 1;
  }

  private grow(): void {
    const capacity = Math.max(16, this.starts.length * 2);
    const starts = new Int32Array(capacity);
    const ends = new Int32Array(capacity);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }
}

export const LF = 0x0a;
/** `#`, which starts a comment line. */
export const HASH = 0x23;

/**
 * Whether String.prototype.trim() strips the ASCII byte `b`: \t, \n, \v, \f, \r and space (but
 * not the other control characters). trim() also strips Unicode spaces such as U+00A0, which in
 * UTF-8 are several non-ASCII bytes: the byte path is only used on all-ASCII input (see
 * readSceneFileRanges), and tests check this against trim() for every ASCII character.
 */
export function isTrimmedByte(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/**
 * Sets `out` to the scene IDs of the whole lines in `bytes[0..end)` (a piece of linePieces; a
 * last line without its LF counts as a line), by the rules of parseSceneLine (trimmed; blank
 * and `#` lines skipped).
 */
export function scanSceneLines(bytes: Buffer, end: number, out: SceneRanges): void {
  out.reset(bytes);
  for (let lineStart = 0; lineStart < end; ) {
    // indexOf may find an LF past `end` in a reused buffer: that one is not part of this input.
    let lineEnd = bytes.indexOf(LF, lineStart);
    if (lineEnd === -1 || lineEnd >= end) lineEnd = end;
    pushTrimmedLine(bytes, lineStart, lineEnd, out);
    lineStart = lineEnd + 1;
  }
}

/** Adds the line `bytes[start..end)` (without its LF) to `out`, trimmed, unless blank or a comment. */
function pushTrimmedLine(bytes: Buffer, start: number, end: number, out: SceneRanges): void {
  start = trimmedStart(bytes, start, end);
  end = trimmedEnd(bytes, start, end);
  if (start < end && bytes[start] !== HASH) out.push(start, end);
}

/** Where the ASCII line `bytes[start..end)` starts once trimmed (at `end` for a blank line). */
export function trimmedStart(bytes: Buffer, start: number, end: number): number {
  while (start < end && isTrimmedByte(bytes[start])) start++;
  return start;
}

/** Where the ASCII line `bytes[start..end)` ends once trimmed. */
export function trimmedEnd(bytes: Buffer, start: number, end: number): number {
  while (end > start && isTrimmedByte(bytes[end - 1])) end--;
  return end;
}

/**
 * A piece of input for byte scans: `bytes[0..end)` holds whole lines (the last one ends with its
 * LF, or with the input at `atEnd`), followed by `unfinished` bytes of a line that goes on in the
 * next piece.
 */
export interface LinePiece {
  readonly bytes: Buffer;
  readonly end: number;
  readonly unfinished: number;
  readonly atEnd: boolean;
}

/**
 * The bytes of `chunks` in pieces of whole lines, one piece per chunk and a last one at the end
 * of the input: each chunk is appended to the unfinished line the piece before left, so that
 * every line lies in one buffer. `onChunk` sees each chunk as it came, before any of its lines.
 * One buffer is reused (grown for a line longer than a chunk): a piece is valid until the next
 * one is requested.
 */
export async function* linePieces(chunks: Readable | AsyncIterable<Buffer> | Iterable<Buffer>, onChunk?: (chunk: Buffer) => void): AsyncGenerator<LinePiece> {
  let buffer: Buffer = Buffer.allocUnsafe(2 * READ_CHUNK_BYTES);
  let kept = 0; // bytes of an unfinished line at the front of `buffer`
  for await (const raw of chunks as AsyncIterable<Buffer | string>) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    onChunk?.(chunk);
    if (buffer.length - kept < chunk.length) buffer = grown(buffer, kept, kept + chunk.length);
    chunk.copy(buffer, kept);
    const length = kept + chunk.length;
    // The last LF of the chunk: lines before it are whole; a line without one goes on.
    const end = length === 0 ? 0 : buffer.lastIndexOf(LF, length - 1) + 1;
    yield { bytes: buffer, end, unfinished: length - end, atEnd: false };
    buffer.copyWithin(0, end, length);
    kept = length - end;
  }
  yield { bytes: buffer, end: kept, unfinished: 0, atEnd: true }; // a last line without a newline
}

/**
 * The scene IDs of an all-ASCII file as byte ranges, for the push pass: the same lines as
 * readSceneFile, read in the same READ_CHUNK_BYTES chunks (so `onChunk` sees the chunks whose
 * checksums the validation pass recorded), without decoding them. A line cut by a chunk's end
 * is moved to the front of the buffer and the next chunk read after it, so every range lies in
 * one buffer. Input with non-ASCII bytes must go through readSceneFile and sceneRangesOf
 * instead: trim() strips Unicode spaces, which this byte scan does not see as spaces.
 */
export async function* readSceneFileRanges(path: string, onChunk?: (chunk: Buffer) => void): AsyncGenerator<SceneRanges> {
  const ranges = new SceneRanges(Buffer.alloc(0));
  for await (const { bytes, end } of linePieces(fileChunks(path), onChunk)) {
    scanSceneLines(bytes, end, ranges);
    if (ranges.count > 0) yield ranges; // used up before the buffer is touched again
  }
}

/** A buffer of at least `needed` bytes (twice `buffer`'s size or more), holding `buffer`'s first `used` bytes. */
function grown(buffer: Buffer, used: number, needed: number): Buffer {
  const bigger = Buffer.allocUnsafe(Math.max(buffer.length * 2, needed));
  buffer.copy(bigger, 0, 0, used);
  return bigger;
}

/**
 * Scene IDs given as strings (arguments, or lines decoded from a non-ASCII file) as byte
 * ranges, one Buffer per chunk of lines. Scene IDs that passed validation are printable ASCII.
 */
export async function* sceneRangesOf(lines: AsyncIterable<SceneLine[]>): AsyncGenerator<SceneRanges> {
  for await (const chunk of lines) {
    let total = 0;
    for (const { scene } of chunk) total += Buffer.byteLength(scene);
    const ranges = new SceneRanges(Buffer.allocUnsafe(total), chunk.length);
    let pos = 0;
    for (const { scene } of chunk) {
      const end = pos + ranges.bytes.write(scene, pos);
      ranges.push(pos, end);
      pos = end;
    }
    if (ranges.count > 0) yield ranges;
  }
}
