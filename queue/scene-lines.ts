import { createReadStream } from 'fs';
import type { Readable } from 'stream';

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

/**
 * Streams the scene IDs of `input` in chunks of lines: a million-line file is never held whole
 * in memory. Yielding a chunk's lines at once (rather than one promise per line, as
 * `readline`'s iterator does) keeps a million lines well under a second. LF and CRLF line ends.
 */
export async function* readSceneLines(input: Readable): AsyncGenerator<SceneLine[]> {
  input.setEncoding('utf8'); // decodes multi-byte characters split across chunks correctly
  let line = 0;
  let rest = '';
  for await (const chunk of input as AsyncIterable<string>) {
    const text = rest + chunk;
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
  const scene = parseSceneLine(rest); // a last line without a newline
  if (scene !== undefined) yield [{ line: line + 1, scene }];
}

/** readSceneLines of a file by path, read in 1 MiB chunks. */
export function readSceneFile(path: string): AsyncGenerator<SceneLine[]> {
  return readSceneLines(createReadStream(path, { highWaterMark: 1 << 20 }));
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
