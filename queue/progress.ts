import type { Writable } from 'stream';

/** A pass that ends sooner than this shows no bar at all. */
export const PROGRESS_DELAY_MS = 200;

/** What one frame of a progress bar shows. */
export interface ProgressFrame {
  /** What is going on, e.g. `reading` or `pushing`. */
  readonly label: string;
  readonly done: number;
  /** Shown as `done/total` when known. */
  readonly total?: number;
  /** Fraction complete for the bar; default done/total; no bar when neither is known. */
  readonly fraction?: number;
  /** What is counted, e.g. `scenes`. */
  readonly unit: string;
}

/**
 * The text of one progress bar frame, e.g. `pushing [#####---------------]  25% 250,000/1,000,000 items 1.2 s`,
 * or `reading 250,000 scenes 1.2 s` when the end is not known (stdin).
 */
export function renderProgress(frame: ProgressFrame, elapsedMs: number, width = 20): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const known = frame.fraction ?? (frame.total !== undefined ? (frame.total > 0 ? frame.done / frame.total : 1) : undefined);
  let bar = '';
  if (known !== undefined) {
    const fraction = Math.min(1, known);
    const filled = Math.round(fraction * width);
    bar = ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
  }
  const count = frame.total !== undefined ? `${n(frame.done)}/${n(frame.total)}` : n(frame.done);
  return `${frame.label}${bar} ${count} ${frame.unit} ${(elapsedMs / 1000).toFixed(1)} s`;
}

/**
 * A one-line progress bar on a terminal's stderr, first drawn once the pass has run for
 * PROGRESS_DELAY_MS, then redrawn at most every 100 ms. Does nothing when disabled (stderr not
 * a TTY), so callers need no conditions.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: Writable,
    private readonly enabled: boolean,
    private readonly label: string,
    private readonly unit: string,
    private readonly total?: number,
  ) {}

  /** Shows `done` (and `fraction` complete, when the bar is not done/total). */
  update(done: number, fraction?: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.started < PROGRESS_DELAY_MS || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.drawn = true;
    this.out.write(`\r${this.render(done, fraction, now)}`);
  }

  /** Draws the final frame and ends the line (if the bar was shown), so the next output starts on its own line. */
  finish(done: number, fraction?: number): void {
    if (!this.drawn) return;
    this.out.write(`\r${this.render(done, fraction, Date.now())}\n`);
  }

  private render(done: number, fraction: number | undefined, now: number): string {
    return renderProgress({ label: this.label, done, total: this.total, fraction, unit: this.unit }, now - this.started);
  }
}
