import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { isTrimmedByte, linePieces, parseSceneLine, readSceneFile, readSceneFileRanges, READ_CHUNK_BYTES, readSceneLines, SceneLine, SceneRanges, sceneRangesOf, scanSceneLines } from '../../queue/scene-lines';

const S2 = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';

async function collect(lines: AsyncIterable<SceneLine[]>): Promise<SceneLine[]> {
  const all: SceneLine[] = [];
  for await (const chunk of lines) all.push(...chunk);
  return all;
}

describe('scene lines', () => {
  test('trims, skips blank and # comment lines', () => {
    expect(parseSceneLine(`  ${S2}\t`)).toBe(S2);
    expect(parseSceneLine('   ')).toBeUndefined();
    expect(parseSceneLine('  # a comment')).toBeUndefined();
  });

  test('streams lines across chunk boundaries, CRLF and a last line without newline, numbering every line', async () => {
    const input = Readable.from([`# header\r\n${S2.slice(0, 10)}`, `${S2.slice(10)}\r\n\n  x y  \n`, 'last']);
    expect(await collect(readSceneLines(input))).toEqual([
      { line: 2, scene: S2 },
      { line: 4, scene: 'x y' },
      { line: 5, scene: 'last' },
    ]);
  });
});

/** The scene IDs of byte ranges, as strings. */
function rangeStrings(ranges: SceneRanges): string[] {
  return Array.from({ length: ranges.count }, (_, i) => ranges.bytes.toString('latin1', ranges.starts[i], ranges.ends[i]));
}

describe('scene lines as bytes (push pass)', () => {
  test('the bytes trimmed are exactly the ASCII characters String.prototype.trim() strips', () => {
    for (let c = 0; c < 128; c++) expect([c, isTrimmedByte(c)]).toEqual([c, String.fromCharCode(c).trim() === '']);
  });

  test('trims CR, tab, VT, FF and spaces on both sides; skips blank and # lines, as parseSceneLine', () => {
    const text = `${S2}\r\n \t\v\f${S2}\f\v\t \r\n\r\n \t\r\n  # comment\r\n#\nx y\n\x1fctl\x1f\nlast\r`;
    const ranges = new SceneRanges(Buffer.alloc(0));
    const bytes = Buffer.from(text, 'latin1');
    scanSceneLines(bytes, bytes.length, ranges);
    const expected = text.split('\n').map(parseSceneLine).filter((s) => s !== undefined);
    expect(expected).toEqual([S2, S2, 'x y', '\x1fctl\x1f', 'last']);
    expect(rangeStrings(ranges)).toEqual(expected);
  });

  test('an unfinished last line is left for the next chunk unless at the end', async () => {
    const pieces: { lines: string; unfinished: number; atEnd: boolean }[] = [];
    for await (const { bytes, end, unfinished, atEnd } of linePieces([Buffer.from(`${S2}\nS2A_MSI`), Buffer.from('L2A\nlast')])) {
      pieces.push({ lines: bytes.toString('latin1', 0, end), unfinished, atEnd });
    }
    expect(pieces).toEqual([
      { lines: `${S2}\n`, unfinished: 'S2A_MSI'.length, atEnd: false },
      { lines: 'S2A_MSIL2A\n', unfinished: 'last'.length, atEnd: false },
      { lines: 'last', unfinished: 0, atEnd: true },
    ]);
    const bytes = Buffer.from(`${S2}\nS2A_MSI`);
    const ranges = new SceneRanges(Buffer.alloc(0));
    scanSceneLines(bytes, bytes.length - 3, ranges); // `end` bounds the input
    expect(rangeStrings(ranges)).toEqual([S2, 'S2A_']);
  });

  test('a file read as byte ranges gives the scene IDs of readSceneFile: lines across chunks, a line longer than a chunk, no final newline', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ard-ranges-'));
    const file = path.join(dir, 'scenes.txt');
    const lines: string[] = [];
    const spaces = [' ', '\t', '\r', '\v', '\f', ''];
    for (let i = 0; i < 5000; i++) {
      const pad = (k: number): string => spaces[(i + k) % spaces.length].repeat((i + k) % 3);
      lines.push(i % 97 === 0 ? `${pad(1)}# comment ${i}` : i % 89 === 0 ? pad(2) : `${pad(0)}${S2.slice(0, 20)}${i}${pad(3)}`);
      if (i === 2500) lines.push('#' + 'x'.repeat(3 * READ_CHUNK_BYTES), ' ' + 'y'.repeat(READ_CHUNK_BYTES + 7) + '\r');
    }
    writeFileSync(file, lines.join('\r\n') + '\nlast-line');
    const expected: string[] = [];
    for await (const chunk of readSceneFile(file)) expected.push(...chunk.map((l) => l.scene));
    expect(expected.length).toBeGreaterThan(4800);
    expect(expected).toContain('y'.repeat(READ_CHUNK_BYTES + 7));
    const chunks: Buffer[] = [];
    const scenes: string[] = [];
    for await (const ranges of readSceneFileRanges(file, (c) => chunks.push(Buffer.from(c)))) scenes.push(...rangeStrings(ranges));
    expect(scenes).toEqual(expected);
    // The chunks given to onChunk are the file's READ_CHUNK_BYTES reads, as in the validation pass.
    expect(chunks.slice(0, -1).every((c) => c.length === READ_CHUNK_BYTES)).toBe(true);
    expect(Buffer.concat(chunks).toString('latin1')).toBe(lines.join('\r\n') + '\nlast-line');
  });

  test('scene IDs given as strings become byte ranges of the same IDs', async () => {
    const scenes: string[] = [];
    for await (const ranges of sceneRangesOf(readSceneLines(Readable.from([`# x\n ${S2} \n\nabc\n`])))) scenes.push(...rangeStrings(ranges));
    expect(scenes).toEqual([S2, 'abc']);
  });
});
