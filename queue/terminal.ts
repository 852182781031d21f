/**
 * Safe text for a terminal: what the queue tool prints that came from outside (queue names,
 * counts read from Redis, a URL) must not be able to move the cursor or retitle the window.
 */

// C0 controls, DEL and C1 controls (U+0080–U+009F: U+009B is a one-character CSI on some terminals).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with every control character shown as a `\xNN` escape, e.g. ESC as `\x1b`. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
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
