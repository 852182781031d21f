/**
 * Checks of scene-ID parts that a regular expression cannot express well (calendar dates,
 * MGRS 100 km square letters), and the part-by-part reason a Sentinel-2 product name is wrong.
 * Each function returns a short reason naming the part, or `undefined` when the part is valid.
 */

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A `YYYYMMDDTHHMMSS` date-time that exists (leap years included), named `part` in the reason. */
export function dateTimeProblem(text: string, part: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return `${part} '${text}' is not YYYYMMDDTHHMMSS`;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (year < 1970 || year > 2199) return `${part} '${text}' has year ${m[1]}, not 1970-2199`;
  if (month < 1 || month > 12) return `${part} '${text}' has month ${m[2]}, not 01-12`;
  const days = month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1];
  if (day < 1 || day > days) return `${part} '${text}' has day ${m[3]}, not 01-${days} for month ${m[2]}`;
  if (hour > 23) return `${part} '${text}' has hour ${m[4]}, not 00-23`;
  if (minute > 59) return `${part} '${text}' has minute ${m[5]}, not 00-59`;
  if (second > 59) return `${part} '${text}' has second ${m[6]}, not 00-59`;
  return undefined;
}

/**
 * MGRS 100 km square letters of a UTM zone (`T56LRR`: zone 56, band L, square RR): the column
 * letter set repeats every three zones (A-H, J-R, S-Z), the row letter is A-V; I and O are never used.
 * @see https://en.wikipedia.org/wiki/Military_Grid_Reference_System
 */
export function mgrsSquareProblem(zone: number, square: string): string | undefined {
  const columns = ['STUVWXYZ', 'ABCDEFGH', 'JKLMNPQR'][zone % 3];
  if (!columns.includes(square[0])) return `tile column letter '${square[0]}' is not used in UTM zone ${String(zone).padStart(2, '0')} (${columns[0]}-${columns[7]} without I and O)`;
  if (!'ABCDEFGHJKLMNPQRSTUV'.includes(square[1])) return `tile row letter '${square[1]}' is not an MGRS row letter (A-V without I and O)`;
  return undefined;
}

/**
 * Why `scene` is not a Sentinel-2 product name, part by part: mission, product level, sensing
 * time, baseline, orbit, tile (zone, latitude band, 100 km square), discriminator; `undefined`
 * when it is valid or is not seven '_'-separated parts at all.
 */
export function sentinel2Problem(scene: string): string | undefined {
  const parts = scene.split('_');
  if (parts.length !== 7) return undefined; // not meant as a product name: the rule says enough
  const [mission, level, sensing, baseline, orbit, tile, discriminator] = parts;
  if (!/^S2[ABC]$/.test(mission)) return `mission '${mission}' is not S2A, S2B or S2C`;
  if (level !== 'MSIL1C' && level !== 'MSIL2A') return `product level '${level}' is not MSIL1C or MSIL2A`;
  const sensingProblem = dateTimeProblem(sensing, 'sensing time');
  if (sensingProblem) return sensingProblem;
  if (!/^N\d{4}$/.test(baseline)) return `processing baseline '${baseline}' is not N and four digits`;
  const r = /^R(\d{3})$/.exec(orbit);
  if (!r || Number(r[1]) < 1 || Number(r[1]) > 143) return `relative orbit '${orbit}' is not R001-R143`;
  const t = /^T(\d{2})([A-Z])([A-Z]{2})$/.exec(tile);
  if (!t) return `tile '${tile}' is not T, a two-digit UTM zone and three letters`;
  const zone = Number(t[1]);
  if (zone < 1 || zone > 60) return `tile '${tile}' has UTM zone ${t[1]}, not 01-60`;
  if (!'CDEFGHJKLMNPQRSTUVWX'.includes(t[2])) return `tile '${tile}' has latitude band '${t[2]}', not C-X without I and O`;
  const square = mgrsSquareProblem(zone, t[3]);
  if (square) return `tile '${tile}': ${square}`;
  return dateTimeProblem(discriminator, 'product discriminator');
}

/** Two ASCII digits of `s` at `i` as a number (the caller knows they are digits). */
const two = (s: string, i: number): number => (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;

/** dateTimeProblem(...) === undefined for a `\d{8}T\d{6}` at `i`, without allocating: the hot path. */
function dateTimeValid(s: string, i: number): boolean {
  const year = two(s, i) * 100 + two(s, i + 2);
  const month = two(s, i + 4);
  const day = two(s, i + 6);
  if (year < 1970 || year > 2199 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1])) return false;
  return two(s, i + 9) <= 23 && two(s, i + 11) <= 59 && two(s, i + 13) <= 59;
}

/**
 * For a scene ID that matches the Sentinel-2 pattern (fixed layout), whether its dates and
 * tile letters are valid too; cheap enough for every scene of a million-line input. Text not in
 * that layout is not judged here (true): the pattern is what refuses it.
 */
export function sentinel2PartsValid(scene: string): boolean {
  if (scene.length !== 60 || scene[44] !== '_' || scene[37] !== '_' || scene[26] !== '_') return true;
  if (!dateTimeValid(scene, 11) || !dateTimeValid(scene, 45)) return false;
  const zone = two(scene, 39);
  return mgrsSquareProblem(zone, scene.slice(42, 44)) === undefined;
}
