import { sentinel2Problem, sentinel2Valid } from '../../protocol/scene-id-parts';
import { SENTINEL_2 } from '../../protocol/workflows';

const S2 = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';

/** The rule as the string path states it: the workflow's pattern, then the part-by-part reasons. */
const byPattern = (scene: string): boolean => SENTINEL_2.sceneId.pattern.test(scene) && sentinel2Problem(scene) === undefined;

/**
 * Two buffers, taken in turn, for the hundreds of thousands of scenes checked (a new one each
 * cost more than the checks): sentinel2Valid meets another buffer, at another offset of the
 * memory Node pools small buffers in, at every call, as with a new one.
 */
const buffers = [Buffer.from('x\n'.padEnd(200), 'latin1'), Buffer.from('x\n'.padEnd(300), 'latin1')];
let calls = 0;

/** sentinel2Valid of `scene`'s latin1 bytes, placed between other bytes of a larger Buffer. */
function byBytes(scene: string): boolean {
  const bytes = buffers[calls++ % 2];
  const end = 2 + bytes.write(scene, 2, 'latin1');
  if (end !== 2 + scene.length || bytes.write('\ny', end, 'latin1') !== 2) throw new Error(`a scene of ${scene.length} characters does not fit`);
  return sentinel2Valid(bytes, 2, end);
}

/** The scenes among `scenes` on which the two disagree (none expected), with both verdicts. */
function disagreements(scenes: Iterable<string>): string[] {
  const found: string[] = [];
  for (const scene of scenes) if (byBytes(scene) !== byPattern(scene)) found.push(`${JSON.stringify(scene)}: bytes ${byBytes(scene)}, pattern ${byPattern(scene)}`);
  return found;
}

/** `scene` with `text` written over it at `at`. */
const put = (scene: string, at: number, text: string): string => scene.slice(0, at) + text + scene.slice(at + text.length);
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

describe('sentinel2Valid: the Sentinel-2 rule on bytes', () => {
  // One base per UTM zone column set (zone % 3), 1C and 2A, a leap day.
  const bases = [S2, 'S2B_MSIL1C_20200229T000000_N0500_R001_T01CAA_19700101T000000', 'S2C_MSIL1C_21991231T235959_N9999_R143_T60XZV_20000229T235959', 'S2A_MSIL2A_20190812T235741_N0213_R030_T02LJR_20190813T014708'];

  test('accepts the valid bases', () => {
    expect(bases.map(byBytes)).toEqual([true, true, true, true]);
  });

  test('agrees with the pattern and the part checks on every byte 0-255 at every position', () => {
    function* substituted(): Generator<string> {
      for (const base of bases) for (let at = 0; at < base.length; at++) for (let b = 0; b < 256; b++) yield put(base, at, String.fromCharCode(b));
    }
    expect(disagreements(substituted())).toEqual([]);
  });

  test('agrees on every date and time at both date parts: years, months, days (leap years), hours, minutes, seconds', () => {
    function* dates(): Generator<string> {
      for (const at of [11, 45]) {
        for (const year of [1969, 1970, 1999, 2000, 2019, 2020, 2100, 2199, 2200, 9999]) {
          for (let month = 0; month <= 13; month++) for (let day = 0; day <= 32; day++) yield put(S2, at, `${pad(year, 4)}${pad(month, 2)}${pad(day, 2)}`);
        }
        for (let hour = 0; hour <= 99; hour++) yield put(S2, at + 9, pad(hour, 2));
        for (let minute = 0; minute <= 99; minute++) yield put(S2, at + 11, pad(minute, 2));
        for (let second = 0; second <= 99; second++) yield put(S2, at + 13, pad(second, 2));
      }
    }
    expect(disagreements(dates())).toEqual([]);
  });

  test('agrees on every orbit 000-999 and every tile: zone 00-99, latitude band, column and row letters', () => {
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    function* tiles(): Generator<string> {
      for (let orbit = 0; orbit <= 999; orbit++) yield put(S2, 34, pad(orbit, 3));
      for (let zone = 0; zone <= 99; zone++) {
        for (const band of 'BCLXY') for (const column of letters) for (const row of letters) yield put(S2, 39, `${pad(zone, 2)}${band}${column}${row}`);
      }
    }
    expect(disagreements(tiles())).toEqual([]);
  });

  test('refuses other lengths, as the pattern does', () => {
    expect(disagreements([S2.slice(0, -1), S2 + '0', '', S2.slice(1), `${S2}_${S2}`])).toEqual([]);
    expect([S2.slice(0, -1), S2 + '0'].map(byBytes)).toEqual([false, false]);
  });
});
