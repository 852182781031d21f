import type { Writable } from 'stream';
import { groupDigits } from './terminal';

/** Inputs shorter than this finish before a bar would be worth drawing. */
export const PROGRESS_MIN_TOTAL = 20_000;

/** The text of one progress bar frame, e.g. `[#####---------------]  25% 250,000/1,000,000 scenes 1.2 s`. */
export function renderProgress(done: number, total: number, elapsedMs: number, width = 20): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  const percent = String(Math.floor(fraction * 100)).padStart(3);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}% ${groupDigits(done)}/${groupDigits(total)} scenes ${(elapsedMs / 1000).toFixed(1)} s`;
}

/**
 * A one-line progress bar on a terminal's stderr, redrawn at most every 100 ms. Does nothing
 * when disabled (stderr not a TTY, or a short input), so callers need no conditions.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly out: Writable,
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  update(done: number): void {
    const now = Date.now();
    if (!this.enabled || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.out.write(`\r${renderProgress(done, this.total, now - this.started)}`);
  }

  /** Draws the final frame and ends the line, so the summary starts on its own line. */
  finish(done: number): void {
    if (!this.enabled) return;
    this.out.write(`\r${renderProgress(done, this.total, Date.now() - this.started)}\n`);
  }
}
