/**
 * Checks of scene-ID parts that a regular expression cannot express well (calendar dates,
 * MGRS 100 km square letters), and the part-by-part reason a Sentinel-2 product name is wrong.
 * Each function returns a short reason naming the part, or `undefined` when the part is valid.
 */

import { LastDataView } from './last-data-view';

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

/** MGRS column letters by UTM zone % 3 (the set repeats every three zones), and the row letters: never I or O. */
const MGRS_COLUMN_LETTERS = ['STUVWXYZ', 'ABCDEFGH', 'JKLMNPQR'];
const MGRS_ROW_LETTERS = 'ABCDEFGHJKLMNPQRSTUV';
/** UTM latitude bands C-X without I and O. */
const LATITUDE_BANDS = 'CDEFGHJKLMNPQRSTUVWX';

/**
 * MGRS 100 km square letters of a UTM zone (`T56LRR`: zone 56, band L, square RR): the column
 * letter set repeats every three zones (A-H, J-R, S-Z), the row letter is A-V; I and O are never used.
 * @see https://en.wikipedia.org/wiki/Military_Grid_Reference_System
 */
export function mgrsSquareProblem(zone: number, square: string): string | undefined {
  const columns = MGRS_COLUMN_LETTERS[zone % 3];
  if (!columns.includes(square[0])) return `tile column letter '${square[0]}' is not used in UTM zone ${String(zone).padStart(2, '0')} (${columns[0]}-${columns[7]} without I and O)`;
  if (!MGRS_ROW_LETTERS.includes(square[1])) return `tile row letter '${square[1]}' is not an MGRS row letter (A-V without I and O)`;
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
  if (!LATITUDE_BANDS.includes(t[2])) return `tile '${tile}' has latitude band '${t[2]}', not C-X without I and O`;
  const square = mgrsSquareProblem(zone, t[3]);
  if (square) return `tile '${tile}': ${square}`;
  return dateTimeProblem(discriminator, 'product discriminator');
}

/**
 * The Sentinel-2 product name, one character per byte: upper-case letters, digits and '_' stand
 * for themselves; `m` is a mission letter (A-C), `l` a product level character (1C or 2A, checked
 * as a pair), `d` a digit, `b` a latitude band (C-X without I and O), `u` a letter A-Z.
 */
const S2_LAYOUT = 'S2m_MSILll_ddddddddTdddddd_Ndddd_Rddd_Tddbuu_ddddddddTdddddd';
const LAYOUT_CLASSES: Readonly<Record<string, string>> = {
  m: 'ABC',
  l: '12AC',
  d: '0123456789',
  b: LATITUDE_BANDS,
  u: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
};

/** `S2_ALLOWED[position * 128 + byte]` is 1 when `byte` may stand at `position` of S2_LAYOUT. */
const S2_ALLOWED = new Uint8Array(S2_LAYOUT.length * 128);
/** The positions of S2_LAYOUT that hold a class other than digits. */
const S2_CLASS_POSITIONS: number[] = [];
/**
 * S2_LAYOUT as checks of four bytes at a time, word w being the little-endian int32 at 4 × w:
 * its fixed characters are `(x & S2_FIXED_MASK[w]) === S2_FIXED[w]`; its digit bytes `d = x &
 * S2_DIGIT_MASK[w]` all have the high nibble 3 (0x30-0x3f), and still do after adding 6 to each
 * (0x30-0x39). No byte carries into the next: the second test runs only on bytes 0x30-0x3f.
 */
const S2_WORDS = S2_LAYOUT.length / 4;
const S2_FIXED_MASK = new Int32Array(S2_WORDS);
const S2_FIXED = new Int32Array(S2_WORDS);
const S2_DIGIT_MASK = new Int32Array(S2_WORDS);
const S2_DIGIT_NIBBLES = new Int32Array(S2_WORDS); // 0xf0 at each digit byte
const S2_DIGIT_HIGH = new Int32Array(S2_WORDS); // 0x30 at each digit byte
const S2_DIGIT_SIX = new Int32Array(S2_WORDS); // 0x06 at each digit byte
for (let p = 0; p < S2_LAYOUT.length; p++) {
  const c = S2_LAYOUT[p];
  for (const allowed of LAYOUT_CLASSES[c] ?? c) S2_ALLOWED[p * 128 + allowed.charCodeAt(0)] = 1;
  const [w, shift] = [p >> 2, 8 * (p & 3)];
  if (c === 'd') {
    S2_DIGIT_MASK[w] |= 0xff << shift;
    S2_DIGIT_NIBBLES[w] |= 0xf0 << shift;
    S2_DIGIT_HIGH[w] |= 0x30 << shift;
    S2_DIGIT_SIX[w] |= 0x06 << shift;
  } else if (c in LAYOUT_CLASSES) {
    S2_CLASS_POSITIONS.push(p);
  } else {
    S2_FIXED_MASK[w] |= 0xff << shift;
    S2_FIXED[w] |= c.charCodeAt(0) << shift;
  }
}

const lineWords = new LastDataView();

/** The MGRS column letters (A-Z as bits 0-25) by UTM zone % 3, and the row letters. */
const letterBits = (letters: string): number => [...letters].reduce((bits, c) => bits | (1 << (c.charCodeAt(0) - 65)), 0);
const MGRS_COLUMNS = MGRS_COLUMN_LETTERS.map(letterBits);
const MGRS_ROWS = letterBits(MGRS_ROW_LETTERS);

/** The number written by the two ASCII digits at `bytes[i..]` (the caller knows they are digits). */
const two = (bytes: Uint8Array, i: number): number => (bytes[i] - 48) * 10 + bytes[i + 1] - 48;

/** Whether the `YYYYMMDDTHHMMSS` at `bytes[i..]` (digits and 'T' already checked) exists: dateTimeProblem's rules. */
function dateTimeValid(bytes: Uint8Array, i: number): boolean {
  const year = two(bytes, i) * 100 + two(bytes, i + 2);
  const month = two(bytes, i + 4);
  const day = two(bytes, i + 6);
  if (year < 1970 || year > 2199 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1])) return false;
  return two(bytes, i + 9) <= 23 && two(bytes, i + 11) <= 59 && two(bytes, i + 13) <= 59;
}

/** The product levels `1C` and `2A` as the two bytes at positions 8-9, high byte first. */
const LEVEL_1C = (0x31 << 8) | 0x43;
const LEVEL_2A = (0x32 << 8) | 0x41;

/**
 * Whether `bytes[start..end)` is a valid Sentinel-2 product name: the workflow's pattern, its
 * dates and its tile letters, checked on the bytes with no string and no regular expression,
 * for every line of a million-line input. It accepts exactly what the pattern and
 * sentinel2Problem accept (test/protocol/scene-id-parts.test.ts compares them).
 */
export function sentinel2Valid(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== S2_LAYOUT.length) return false;
  const words = lineWords.of(bytes);
  for (let w = 0; w < S2_WORDS; w++) {
    const x = words.getInt32(start + 4 * w, true);
    if ((x & S2_FIXED_MASK[w]) !== S2_FIXED[w]) return false;
    const d = x & S2_DIGIT_MASK[w];
    if ((d & S2_DIGIT_NIBBLES[w]) !== S2_DIGIT_HIGH[w] || ((d + S2_DIGIT_SIX[w]) & S2_DIGIT_NIBBLES[w]) !== S2_DIGIT_HIGH[w]) return false;
  }
  for (let i = 0; i < S2_CLASS_POSITIONS.length; i++) {
    const p = S2_CLASS_POSITIONS[i];
    const b = bytes[start + p];
    if (b > 127 || S2_ALLOWED[(p << 7) | b] === 0) return false;
  }
  const level = (bytes[start + 8] << 8) | bytes[start + 9];
  if (level !== LEVEL_1C && level !== LEVEL_2A) return false;
  const orbit = (bytes[start + 34] - 48) * 100 + two(bytes, start + 35);
  const zone = two(bytes, start + 39);
  if (orbit < 1 || orbit > 143 || zone < 1 || zone > 60) return false;
  if ((MGRS_COLUMNS[zone % 3] & (1 << (bytes[start + 42] - 65))) === 0 || (MGRS_ROWS & (1 << (bytes[start + 43] - 65))) === 0) return false;
  return dateTimeValid(bytes, start + 11) && dateTimeValid(bytes, start + 45);
}
