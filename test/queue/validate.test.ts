import { Readable } from 'stream';
import { LANDSAT, SENTINEL_1, SENTINEL_2 } from '../../protocol/workflows';
import { sceneProblem } from '../../queue/items';
import { readSceneLines } from '../../queue/scene-lines';
import { formatValidationFailure, validateScenes } from '../../queue/validate';

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
