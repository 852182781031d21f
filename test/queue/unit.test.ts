import { createHash } from 'crypto';
import { mkdtempSync, mkdirSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { LANDSAT, SENTINEL_1, SENTINEL_2 } from '../../protocol/workflows';
import { redactUrl, resolveRedisUrl, resolveTarget } from '../../queue/args';
import { staleBuildMessage } from '../../queue/stale-build';
import { formatSummary, makeSummary, parseEnqueueArgs } from '../../queue/enqueue';
import { ItemTemplate, itemFields, sceneProblem } from '../../queue/items';
import { renderProgress } from '../../queue/progress';
import { sceneOfItem } from '../../queue/push';
import { isTrimmedByte, parseSceneLine, readSceneFile, readSceneFileRanges, READ_CHUNK_BYTES, readSceneLines, SceneLine, SceneRanges, sceneRangesOf, scanSceneLines } from '../../queue/scene-lines';
import { formatStatusTable, leaseKey, makeStatus } from '../../queue/status';
import { formatValidationFailure, validateScenes } from '../../queue/validate';

const S2 = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';
const S2_TARGET = { workflow: SENTINEL_2, queue: 'jobS2' };
const NO_TTY = { env: {}, stdin: Object.assign(Readable.from([]), { isTTY: false }) };

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
    expect(scanSceneLines(bytes, bytes.length, ranges, true)).toBe(bytes.length);
    const expected = text.split('\n').map(parseSceneLine).filter((s) => s !== undefined);
    expect(expected).toEqual([S2, S2, 'x y', '\x1fctl\x1f', 'last']);
    expect(rangeStrings(ranges)).toEqual(expected);
  });

  test('an unfinished last line is left for the next chunk unless at the end', () => {
    const bytes = Buffer.from(`${S2}\nS2A_MSI`);
    const ranges = new SceneRanges(Buffer.alloc(0));
    expect(scanSceneLines(bytes, bytes.length, ranges, false)).toBe(S2.length + 1);
    expect(rangeStrings(ranges)).toEqual([S2]);
    expect(scanSceneLines(bytes, bytes.length - 3, ranges, true)).toBe(bytes.length - 3); // `end` bounds the input
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
    for (const ranges of readSceneFileRanges(file, (c) => chunks.push(Buffer.from(c)))) scenes.push(...rangeStrings(ranges));
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

describe('scene validation', () => {
  test.each([
    ['S2D_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708', "'S2D_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708' is not a valid s2 scene ID"],
    ['S2A_MSIL2A_20190812T235741_N0213_R144_T56LRR_20190813T014708', "'S2A_MSIL2A_20190812T235741_N0213_R144_T56LRR_20190813T014708' is not a valid s2 scene ID"],
    [`${S2} ${S2}`, `'${S2} ${S2.slice(0, 19)}…' contains whitespace; give one scene ID per line`],
    [`{"in_scene":"${S2}"}`, `'{"in_scene":"${S2}"}' looks like a JSON item; give bare scene IDs, the tool builds the items`],
  ])('refuses %s', (scene, reason) => {
    expect(sceneProblem(SENTINEL_2, scene)).toBe(reason);
  });

  test('accepts valid IDs of each workflow', () => {
    expect(sceneProblem(SENTINEL_2, S2)).toBeUndefined();
    expect(sceneProblem(SENTINEL_2, 'S2C_MSIL1C_20250101T000000_N0511_R143_T60XZZ_20250101T000001')).toBeUndefined();
    expect(sceneProblem(LANDSAT, 'LC08_L2SP_123032_20200101_20200113_02_T1')).toBeUndefined();
    expect(sceneProblem(SENTINEL_1, 'S1A_IW_GRDH_1SDV_20190812T175430_20190812T175455_028533_033942_4B7F')).toBeUndefined();
  });

  test('reports the first 20 bad lines, then a count, then the rule', async () => {
    const lines = [S2, ...Array.from({ length: 25 }, (_, i) => `bad${i}`)].join('\n');
    const report = await validateScenes(readSceneLines(Readable.from([lines])), SENTINEL_2);
    expect(report.valid).toBe(1);
    expect(report.invalid).toBe(25);
    expect(formatValidationFailure(report, 'scenes.txt', SENTINEL_2)).toBe(
      [
        'scenes.txt: 25 invalid lines; nothing was pushed',
        ...Array.from({ length: 20 }, (_, i) => `  line ${i + 2}: 'bad${i}' is not a valid s2 scene ID`),
        '  … and 5 more',
        `scene IDs of workflow s2 must be ${SENTINEL_2.sceneId.description}`,
      ].join('\n'),
    );
  });
});

describe('items', () => {
  test('compact JSON, in_scene first, fields in the workflow order, defaults applied', () => {
    const template = new ItemTemplate(itemFields(SENTINEL_2, { 's3-dir': 'ard/', 's3-bucket': 'my-bucket' }));
    expect(template.item(S2)).toBe(`{"in_scene":"${S2}","s3_bucket":"my-bucket","s3_dir":"ard/","inter_dir":"/data/intermediate/"}`);
    expect(new ItemTemplate(itemFields(SENTINEL_2, {})).item(S2)).toBe(`{"in_scene":"${S2}","inter_dir":"/data/intermediate/"}`);
    expect(new ItemTemplate(itemFields(SENTINEL_2, { 'inter-dir': '/scratch/' })).item(S2)).toBe(`{"in_scene":"${S2}","inter_dir":"/scratch/"}`);
  });

  test.each([
    [{ 'inter-dir': 'data/' }, "--inter-dir must be an absolute directory path ending in '/', e.g. /data/intermediate/, got 'data/'"],
    [{ 'inter-dir': '/data' }, "--inter-dir must be an absolute directory path ending in '/', e.g. /data/intermediate/, got '/data'"],
    [{ 's3-bucket': 'My_Bucket' }, "--s3-bucket must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-'), got 'My_Bucket'"],
    [{ 's3-dir': 'a\nb' }, '--s3-dir must be a non-empty string without control characters, got "a\\nb"'],
  ])('refuses %j', (flags, message) => {
    expect(() => itemFields(SENTINEL_2, flags)).toThrow(message);
  });

  test('refuses a flag whose field the workflow does not accept', () => {
    const noS3 = { ...SENTINEL_2, name: 'x', itemFields: ['inter_dir'] };
    expect(() => itemFields(noS3, { 's3-bucket': 'bucket' })).toThrow("--s3-bucket sets 's3_bucket', which workflow 'x' does not accept; its item fields are: inter_dir");
  });

  test('sceneOfItem reads in_scene back, ignores foreign items', () => {
    expect(sceneOfItem(`{"in_scene":"${S2}","inter_dir":"/x/"}`)).toBe(S2);
    expect(sceneOfItem('not json')).toBeUndefined();
  });
});

describe('arguments', () => {
  test('--queue alone selects the workflow owning it; --workflow gives its queue', () => {
    expect(resolveTarget(undefined, 'jobLS')).toEqual({ workflow: LANDSAT, queue: 'jobLS' });
    expect(resolveTarget('s1', undefined)).toEqual({ workflow: SENTINEL_1, queue: 'jobS1' });
    expect(resolveTarget('s2', 'jobS2test')).toEqual({ workflow: SENTINEL_2, queue: 'jobS2test' });
    expect(resolveTarget(undefined, undefined)).toEqual(S2_TARGET);
  });

  test('refuses unknown workflows and ownerless queues with what is allowed', () => {
    expect(() => resolveTarget('s3', undefined)).toThrow("unknown --workflow 's3'; known workflows: s2, ls, s1");
    expect(() => resolveTarget(undefined, 'jobX')).toThrow(
      "no workflow owns queue 'jobX' (known queues: jobS2 (s2), jobLS (ls), jobS1 (s1)); add --workflow NAME to choose its scene-ID rule and item fields",
    );
    expect(() => resolveTarget('s2', 'a b')).toThrow("--queue must be 1-100 characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit, got 'a b'");
  });

  test('redis URL: flag, then $REDIS_URL, then the port-forward default; passwords redacted in messages', () => {
    expect(resolveRedisUrl('redis://a:1', { REDIS_URL: 'redis://b:2' })).toBe('redis://a:1');
    expect(resolveRedisUrl(undefined, { REDIS_URL: 'redis://b:2' })).toBe('redis://b:2');
    expect(resolveRedisUrl(undefined, {})).toBe('redis://127.0.0.1:6379');
    expect(() => resolveRedisUrl('http://x', {})).toThrow("--redis-url must start with redis:// or rediss://, got 'http://x'");
    expect(redactUrl('redis://user:s3cret@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(redactUrl('redis://:s3cret@host:6379')).toBe('redis://:***@host:6379');
  });

  test('enqueue flags', () => {
    const request = parseEnqueueArgs([S2, '--no-dedupe', '--dry-run', '--json'], NO_TTY);
    expect(request).toMatchObject({ mode: 'none', dryRun: true, json: true, input: { kind: 'arguments', scenes: [S2] } });
    expect(parseEnqueueArgs(['--file', '-', '--force'], NO_TTY)).toMatchObject({ mode: 'force', input: { kind: 'stdin' } });
    expect(parseEnqueueArgs([], NO_TTY)).toMatchObject({ mode: 'dedupe', input: { kind: 'stdin' } });
    expect(() => parseEnqueueArgs([S2, '--force', '--no-dedupe'], NO_TTY)).toThrow('--no-dedupe and --force cannot be combined');
    expect(() => parseEnqueueArgs([S2, '--file', 'x'], NO_TTY)).toThrow('give scene IDs either as arguments or with --file, not both');
    expect(() => parseEnqueueArgs([], { env: {}, stdin: Object.assign(Readable.from([]), { isTTY: true }) })).toThrow(
      'no scene IDs: give them as arguments, with --file PATH, or on stdin (--file -)',
    );
    expect(() => parseEnqueueArgs(['--frce'], NO_TTY)).toThrow("enqueue: Unknown option '--frce'");
  });
});

describe('output', () => {
  test('summary names every skip reason', () => {
    const request = parseEnqueueArgs([S2], NO_TTY);
    const summary = makeSummary(request, 10, { pushed: 6, duplicateInInput: 1, enqueuedBefore: 2, pendingOrProcessing: 1 }, 'run1', 1234);
    expect(formatSummary(summary)).toBe(
      'jobS2 (s2): pushed 6 items; skipped 4: 2 enqueued by an earlier run (use --force to push them again), 1 pending or processing right now, 1 repeated in the input (10 scene IDs read, 1.2 s)',
    );
  });

  test('progress bar frame', () => {
    expect(renderProgress(250_000, 1_000_000, 1234)).toBe('[#####---------------]  25% 250,000/1,000,000 scenes 1.2 s');
  });

  test('status: expired = processing - leased; table', () => {
    const status = makeStatus(S2_TARGET, { pending: 1200, processing: 3, leased: 2, deadLettered: 0, enqueued: 1205 });
    expect(status).toEqual({ queue: 'jobS2', workflow: 's2', pending: 1200, processing: 3, leased: 2, expired: 1, deadLettered: 0, enqueued: 1205 });
    expect(formatStatusTable([status])).toBe(
      'queue  workflow  pending  processing  leased  expired  deadLettered  enqueued\n' +
        'jobS2  s2          1,200           3       2        1             0     1,205\n',
    );
  });

  test('lease key is the sha224 hex of the item bytes', () => {
    const item = `{"in_scene":"${S2}"}`;
    expect(leaseKey('jobS2:leased_by_session:', item)).toBe(`jobS2:leased_by_session:${createHash('sha224').update(item).digest('hex')}`);
  });
});

describe('stale build check', () => {
  test('refuses a build older than a source it lists or a new source in its folders, only when running from build/', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ard-stale-'));
    for (const dir of ['queue', 'protocol/lua', 'build/queue']) mkdirSync(path.join(root, dir), { recursive: true });
    const compiled = path.join(root, 'build/queue/cli.js');
    const sources = ['queue/cli.ts', 'protocol/lua/enqueue.lua', 'protocol/workflows.ts'];
    writeFileSync(path.join(root, 'build/sources.json'), JSON.stringify({ files: sources, folders: ['queue', 'protocol', 'protocol/lua'] }));
    for (const file of [...sources, 'queue/cli.test.ts', 'build/queue/cli.js']) writeFileSync(path.join(root, file), '');
    const past = new Date(Date.now() - 60_000);
    for (const file of sources) utimesSync(path.join(root, file), past, past);
    expect(staleBuildMessage(compiled)).toBeUndefined(); // a newer test file does not count
    utimesSync(path.join(root, 'protocol/workflows.ts'), new Date(), new Date(Date.now() + 1000));
    expect(staleBuildMessage(compiled)).toBe('the compiled queue tool in build/ is older than protocol/workflows.ts; run `npm run build`');
    utimesSync(path.join(root, 'protocol/workflows.ts'), past, past);
    writeFileSync(path.join(root, 'protocol/new-shared.ts'), '');
    utimesSync(path.join(root, 'protocol/new-shared.ts'), new Date(), new Date(Date.now() + 1000));
    expect(staleBuildMessage(compiled)).toBe('the compiled queue tool in build/ is older than protocol/new-shared.ts; run `npm run build`');
    expect(staleBuildMessage(path.join(root, 'queue/cli.ts'))).toBeUndefined();
  });

  test('refuses a build without its list of sources', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ard-stale-'));
    mkdirSync(path.join(root, 'build/queue'), { recursive: true });
    writeFileSync(path.join(root, 'build/queue/cli.js'), '');
    expect(staleBuildMessage(path.join(root, 'build/queue/cli.js'))).toBe(
      'the compiled queue tool in build/ has no list of its sources (build/sources.json); run `npm run build`',
    );
  });
});
