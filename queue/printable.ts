/**
 * Text read from Redis (work items, scene IDs) is printed through {@link printable}, so that an
 * item cannot move the cursor, clear the screen, rewrite a line or forge rows of a table: C0
 * and C1 control characters, DEL and the Unicode bidirectional and line/paragraph separators
 * are shown as escapes (`\x1b`, `\u202e`), and a backslash as `\\` so that escapes cannot be
 * forged either. `--json` output needs none of this: JSON.stringify escapes C0 controls itself.
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
