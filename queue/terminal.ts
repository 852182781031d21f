/** Safe text for a terminal, and the few control sequences the tool itself writes. */

/**
 * Text that came from outside (work items and scene IDs read from Redis, queue names, a URL) is
 * printed through {@link printable}, so that it cannot move the cursor, clear the screen, retitle
 * the window, rewrite a line or forge rows of a table: C0 and C1 control characters (U+009B is a
 * one-character CSI on some terminals), DEL and the Unicode bidirectional and line/paragraph
 * separators are shown as escapes (`\x1b`, `\u202e`), and a backslash as `\\` so that escapes
 * cannot be forged either.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g;

/** `text` with every control character escaped; plain text is returned unchanged. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// JSON.stringify escapes C0 controls only; DEL, C1 and the JSON-but-not-JavaScript line separators are escaped too.
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029]/g;

/** `value` as one line of JSON (with a newline) in which no character is a terminal control. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/** ANSI SGR styles used to highlight counts that need attention. */
export const STYLE = { red: '\x1b[1;31m', yellow: '\x1b[1;33m', dim: '\x1b[2m', reset: '\x1b[0m' } as const;

/** Control sequences of an in-place display. */
export const CURSOR = {
  hide: '\x1b[?25l',
  show: '\x1b[?25h',
  /** Erases from the cursor to the end of the line. */
  eraseLine: '\x1b[K',
  /** Erases from the cursor to the end of the screen. */
  eraseDown: '\x1b[J',
  /** Moves the cursor to the start of the line `n` lines up. */
  up: (n: number): string => (n > 0 ? `\x1b[${n}F` : '\r'),
} as const;

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

/** The number of columns `text` takes, ignoring SGR styles. */
export function visibleLength(text: string): number {
  return text.replace(SGR, '').length;
}

/**
 * The integer `n` with thousands separators, as `toLocaleString('en-US')` writes it
 * (`1,000,000`), without ICU: its first use loads locale data, ~13 ms of a run.
 */
export function withThousands(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}
