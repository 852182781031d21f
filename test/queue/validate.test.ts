import { PassThrough, Readable } from 'stream';
import { LANDSAT, SENTINEL_1, SENTINEL_2, WorkflowDefinition } from '../../protocol/workflows';
import { sceneProblem } from '../../queue/items';
import { readSceneLines } from '../../queue/scene-lines';
import { formatValidationFailure, validateSceneBytes, validateScenes, ValidationReport } from '../../queue/validate';
import { sceneId } from '../support/scenes';

const S2 = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';

describe('scene validation', () => {
  test.each([
    ['S2D_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708', "'S2D_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708' is not a valid s2 scene ID: mission 'S2D' is not S2A, S2B or S2C"],
    ['S2A_MSIL2A_20190812T235741_N0213_R144_T56LRR_20190813T014708', "'S2A_MSIL2A_20190812T235741_N0213_R144_T56LRR_20190813T014708' is not a valid s2 scene ID: relative orbit 'R144' is not R001-R143"],
    // Parts the pattern accepts but that cannot exist: the reason names the part.
    ['S2A_MSIL2A_20191399T996099_N0213_R030_T56LRR_20190813T014708', "'S2A_MSIL2A_20191399T996099_N0213_R030_T56LRR_20190813T014708' is not a valid s2 scene ID: sensing time '20191399T996099' has month 13, not 01-12"],
    ['S2A_MSIL2A_20190230T000000_N0213_R030_T56LRR_20190813T014708', "'S2A_MSIL2A_20190230T000000_N0213_R030_T56LRR_20190813T014708' is not a valid s2 scene ID: sensing time '20190230T000000' has day 30, not 01-28 for month 02"],
    ['S2A_MSIL2A_20200229T235960_N0213_R030_T56LRR_20190813T014708', "'S2A_MSIL2A_20200229T235960_N0213_R030_T56LRR_20190813T014708' is not a valid s2 scene ID: sensing time '20200229T235960' has second 60, not 00-59"],
    ['S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T244708', "'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T244708' is not a valid s2 scene ID: product discriminator '20190813T244708' has hour 24, not 00-23"],
    ['S2A_MSIL2A_20190812T235741_N0213_R030_T56LAR_20190813T014708', "'S2A_MSIL2A_20190812T235741_N0213_R030_T56LAR_20190813T014708' is not a valid s2 scene ID: tile 'T56LAR': tile column letter 'A' is not used in UTM zone 56 (J-R without I and O)"],
    ['S2A_MSIL2A_20190812T235741_N0213_R030_T56LRW_20190813T014708', "'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRW_20190813T014708' is not a valid s2 scene ID: tile 'T56LRW': tile row letter 'W' is not an MGRS row letter (A-V without I and O)"],
    ['S2A_MSIL2A_20190812T235741_N0213_R030_T56YRR_20190813T014708', "'S2A_MSIL2A_20190812T235741_N0213_R030_T56YRR_20190813T014708' is not a valid s2 scene ID: tile 'T56YRR' has latitude band 'Y', not C-X without I and O"],
    [`${S2} ${S2}`, `'${S2} ${S2.slice(0, 19)}…' contains whitespace; give one scene ID per line`],
    [`{"in_scene":"${S2}"}`, `'{"in_scene":"${S2}"}' looks like a JSON item; give bare scene IDs, the tool builds the items`],
  ])('refuses %s', (scene, reason) => {
    expect(sceneProblem(SENTINEL_2, scene)).toBe(reason);
  });

  test('accepts valid IDs of each workflow', () => {
    expect(sceneProblem(SENTINEL_2, S2)).toBeUndefined();
    expect(sceneProblem(SENTINEL_2, 'S2C_MSIL1C_20250101T000000_N0511_R143_T60XZV_20250101T000001')).toBeUndefined(); // last zone, band, column and row letters
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

/** `bytes` cut into pieces of the given sizes, in turn (the last piece takes the rest). */
function cut(bytes: Buffer, sizes: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

/** What the string path (readSceneLines, then sceneProblem per line) reports for `text`, or the error it throws. */
async function byStrings(text: string, workflow: WorkflowDefinition = SENTINEL_2): Promise<ValidationReport | string> {
  return validateScenes(readSceneLines(Readable.from([Buffer.from(text)]), { maxLineChars: 1_000 }), workflow).catch((err: Error) => err.message);
}

/** What the byte pass reports for `text` read in `pieces`, the valid scene IDs it spools, or the error it throws. */
async function byBytes(pieces: Buffer[], workflow: WorkflowDefinition = SENTINEL_2): Promise<{ report: ValidationReport | string; spooled: string }> {
  const spool = new PassThrough();
  const spooled: Buffer[] = [];
  spool.on('data', (d: Buffer) => spooled.push(d));
  const report = await validateSceneBytes(pieces, workflow, { spool, maxLineChars: 1_000 }).catch((err: Error) => err.message);
  return { report, spooled: Buffer.concat(spooled).toString('latin1') };
}

describe('the byte pass (files and stdin)', () => {
  // Valid and invalid IDs, comments, blank lines, CRLF and whitespace, a lone CR, JSON, and UTF-8:
  // a comment, Unicode spaces that trim() strips around an ID, an invalid non-ASCII ID; `before`
  // and `after` valid IDs around the first of these lines.
  const mixedLines = (before: number, after: number): string[] => [
    '# campaign',
    ...Array.from({ length: before }, (_, i) => sceneId(i)),
    `  ${sceneId(400)}\t\r`,
    '',
    ' \t ',
    'S2A_MSIL2A_20190230T000000_N0213_R030_T56LRR_20190813T014708',
    `${sceneId(401)}\r${sceneId(402)}`,
    `{"in_scene":"${sceneId(403)}"}`,
    `${sceneId(404)} ${sceneId(405)}`,
    'S2A_MSIL2A_20190812T235741_N0213_R030_T56LAR_20190813T014708\r',
    ...Array.from({ length: after }, (_, i) => sceneId(500 + i)),
    '# café',
    `\u00a0${sceneId(406)}\u3000`,
    `\ufeff${sceneId(407)}\r`,
    `S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T01470\u00e9`,
    ...Array.from({ length: 25 }, (_, i) => `bad${i}`),
    sceneId(408),
  ];
  // Read whole (Infinity), in 64 KiB reads, and cut anywhere: inside lines, CRLF pairs and
  // multi-byte UTF-8 characters. Pieces of 7 to 1,000 bytes fall at every place of a line over
  // hundreds of valid IDs; pieces of 1 byte, or 2 and 3, cut every line at every place anyway, so
  // a few valid IDs around the other lines do for them (hundreds would cost a second a test).
  const readings = [
    { before: 400, after: 300, sizes: [[Infinity], [64 << 10], [7, 61, 1000], [59, 60, 62]] },
    { before: 3, after: 3, sizes: [[1], [2, 3]] },
  ];

  test.each([
    ['LF, last line with LF', (lines: string[]) => lines.join('\n') + '\n'],
    ['CRLF, last line without LF', (lines: string[]) => lines.join('\r\n')],
    ['ASCII only', (lines: string[]) => lines.filter((l) => Buffer.byteLength(l) === l.length).join('\n')],
  ])('gives the string path\'s report, whatever the pieces (%s); spools exactly the valid scene IDs', async (_, join) => {
    for (const { before, after, sizes: sizesList } of readings) {
      const text = join(mixedLines(before, after));
      const expected = await byStrings(text);
      expect(typeof expected === 'object' && expected.invalid > 20 && expected.valid > before + after).toBe(true);
      const bytes = Buffer.from(text);
      const validScenes = (await collectScenes(text)).filter((scene) => sceneProblem(SENTINEL_2, scene) === undefined);
      for (const sizes of sizesList) {
        const { report, spooled } = await byBytes(cut(bytes, sizes));
        expect(report).toEqual(expected);
        expect(spooled).toBe(validScenes.map((s) => `${s}\n`).join(''));
      }
    }
  });

  test('a workflow without a byte rule (Landsat) gets the same verdicts line by line', async () => {
    const text = ['LC08_L2SP_123032_20200101_20200113_02_T1', 'LC08_L2SP_123032_20200101_20200113_02_T3', '# x', sceneId(1)].join('\n');
    const expected = await byStrings(text, LANDSAT);
    expect(expected).toMatchObject({ valid: 1, invalid: 2 });
    expect((await byBytes(cut(Buffer.from(text), [5]), LANDSAT)).report).toEqual(expected);
  });

  test.each([
    ['an ASCII line', `${sceneId(1)}\n${'A'.repeat(1_001)}\n${sceneId(2)}\n`],
    ['an ASCII line at the end, without LF', `${sceneId(1)}\n${'A'.repeat(1_001)}`],
    ['a line of 1,001 characters in more bytes', `${sceneId(1)}\n# ${'é'.repeat(999)}\n`],
    ['a line of 1,000 characters in more bytes (accepted)', `${sceneId(1)}\n# ${'é'.repeat(998)}\n`],
    ['an unfinished line longer than a piece', `${sceneId(1)}\n${'B'.repeat(200_000)}`],
    ['an unfinished non-ASCII line longer than a piece', `${sceneId(1)}\n${'é'.repeat(100_000)}`],
  ])('refuses a line longer than 1,000 characters as the string path does: %s', async (_, text) => {
    const expected = await byStrings(text);
    for (const sizes of [[64 << 10], [999, 1], [3]]) expect((await byBytes(cut(Buffer.from(text), sizes))).report).toEqual(expected);
  });
});

async function collectScenes(text: string): Promise<string[]> {
  const scenes: string[] = [];
  for await (const chunk of readSceneLines(Readable.from([Buffer.from(text)]))) scenes.push(...chunk.map((l) => l.scene));
  return scenes;
}
