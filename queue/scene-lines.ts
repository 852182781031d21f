import { closeSync, openSync, readSync } from 'fs';
import type { Readable } from 'stream';
import { isAscii } from 'buffer';
import { StringDecoder } from 'string_decoder';
import * as zlib from 'zlib';

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
  for await (const raw of input as AsyncIterable<Buffer | string> | Iterable<Buffer>) {
    const buffer = typeof raw === 'string' ? Buffer.from(raw) : raw;
    options.onChunk?.(buffer);
    const text = rest + decoder.write(buffer);
    const scenes: SceneLine[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      line += 1;
      const scene = parseSceneLine(text.slice(start, end));
      if (scene !== undefined) scenes.push({ line, scene });
      start = end + 1;
    }
    rest = text.slice(start);
    if (scenes.length > 0) yield scenes;
  }
  const scene = parseSceneLine(rest + decoder.end()); // a last line without a newline
  if (scene !== undefined) yield [{ line: line + 1, scene }];
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
function* fileChunks(path: string): Generator<Buffer> {
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
