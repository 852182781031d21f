/**
 * The pure half of `queue watch`: throughput over a sliding window, ETA, and what one refresh
 * prints (a JSON line, or the lines of the in-place terminal display). The command module
 * (queue/commands/watch.ts) only reads Redis, keeps time and writes.
 */
import type { QueueStatus } from './status';
import { groupDigits, printable, jsonLine, STYLE } from './terminal';

/** Seconds between refreshes unless `--interval` says otherwise. */
export const DEFAULT_WATCH_INTERVAL_SECONDS = 2;

/** Allowed `--interval`, in seconds: fast enough for a test, slow enough for a week-long campaign. */
export const WATCH_INTERVAL_RANGE = { min: 0.1, max: 3600 } as const;

/** Throughput is measured over the last this many seconds (from the start, until the watch has run that long). */
export const RATE_WINDOW_SECONDS = 600;

/** Exit codes of a watch ended by a signal: 128 + the signal number, as shells report it. */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** One observation of a queue's `done` count; `atMs` from a monotonic clock. */
interface Sample {
  readonly atMs: number;
  readonly done: number;
}

/**
 * Items finished per hour over a sliding window of samples of `done`. It keeps the newest
 * sample at or before the window's start as its anchor, so once the watch has run longer than
 * the window the rate covers the whole window. `done` only grows as workers complete items;
 * if it shrinks (someone deleted keys), the window starts over rather than report a negative rate.
 */
export class RateWindow {
  private samples: Sample[] = [];

  constructor(public readonly windowMs: number = RATE_WINDOW_SECONDS * 1000) {}

  /** Records `done` as seen at `atMs` (monotonic milliseconds, never decreasing). */
  add(atMs: number, done: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && done < last.done) this.samples = [];
    this.samples.push({ atMs, done });
    while (this.samples.length > 2 && this.samples[1].atMs <= atMs - this.windowMs) this.samples.shift();
  }

  /** Milliseconds between the oldest and the newest sample the rate is taken over. */
  spanMs(): number {
    return this.samples.length < 2 ? 0 : this.samples[this.samples.length - 1].atMs - this.samples[0].atMs;
  }

  /** Items per hour over the window; null until two samples some time apart exist. */
  perHour(): number | null {
    const span = this.spanMs();
    if (span <= 0) return null;
    const gained = this.samples[this.samples.length - 1].done - this.samples[0].done;
    return (gained * 3_600_000) / span;
  }
}

/**
 * Seconds until the work left (`pending + processing`: dead letters wait for a person, not a
 * worker) is done at `perHour`: 0 when none is left, null when the rate is unknown or zero.
 */
export function etaSeconds(remaining: number, perHour: number | null): number | null {
  if (remaining <= 0) return 0;
  if (perHour === null || perHour <= 0) return null;
  return (remaining / perHour) * 3600;
}

/** A queue's status with its throughput and ETA, as in each line of `watch --json`. */
export interface WatchedQueue extends QueueStatus {
  /** Items finished per hour over the window, 1 decimal; null until measured. */
  readonly itemsPerHour: number | null;
  /** Seconds until pending and processing are done at that rate, rounded up; null when unknown or no progress. */
  readonly etaSeconds: number | null;
}

/** One refresh of `watch`. */
export interface WatchView {
  /** Wall-clock time of the reading, ISO 8601 UTC. */
  readonly time: string;
  /** Seconds the rates are measured over (grows to RATE_WINDOW_SECONDS, then stays). */
  readonly windowSeconds: number;
  readonly queues: readonly WatchedQueue[];
}

/** The rate windows of the watched queues, fed one reading per refresh. */
export class WatchState {
  private readonly windows = new Map<string, RateWindow>();

  constructor(private readonly windowMs: number = RATE_WINDOW_SECONDS * 1000) {}

  /** Adds the statuses read at `monotonicMs` (wall clock `now`) and returns what to show. */
  update(statuses: readonly QueueStatus[], monotonicMs: number, now: Date): WatchView {
    let span = 0;
    const queues = statuses.map((status) => {
      let window = this.windows.get(status.queue);
      if (!window) this.windows.set(status.queue, (window = new RateWindow(this.windowMs)));
      window.add(monotonicMs, status.done);
      span = Math.max(span, window.spanMs());
      const perHour = window.perHour();
      const eta = etaSeconds(status.pending + status.processing, perHour);
      return { ...status, itemsPerHour: perHour === null ? null : Math.round(perHour * 10) / 10, etaSeconds: eta === null ? null : Math.ceil(eta) };
    });
    return { time: now.toISOString(), windowSeconds: Math.round(span / 100) / 10, queues };
  }
}

/** The `--json` line of one refresh. */
export function watchJsonLine(view: WatchView): string {
  return jsonLine(view);
}

/** The `--json` line of a refresh that could not read Redis. */
export function watchErrorLine(time: Date, message: string): string {
  return jsonLine({ time: time.toISOString(), error: message });
}

/** The line the terminal display adds under the last frame while Redis cannot be read. */
export function watchErrorText(message: string, since: Date, color: boolean): string {
  const text = `Redis unreachable since ${since.toISOString().slice(11, 19)} UTC, retrying: ${printable(message)}`;
  return color ? `${STYLE.red}${text}${STYLE.reset}` : text;
}

/** `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h` (rounded up to the unit shown last). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `${min} min`;
  if (min < 24 * 60) return `${Math.floor(min / 60)} h ${min % 60} min`;
  const hours = Math.ceil(min / 60);
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** `52.3%` (rounded down, so 100.0% means all done), `-` when nothing is recorded. */
export function formatPercent(percent: number | null): string {
  return percent === null ? '-' : `${(Math.floor(percent * 10) / 10).toFixed(1)}%`;
}

/** Items per hour: whole numbers with separators from 100 up, one decimal below. */
export function formatRate(perHour: number): string {
  return perHour >= 100 ? groupDigits(Math.round(perHour)) : perHour.toFixed(1);
}

/** `[######--------------]`, `width` cells filled in proportion to `percent` (rounded down). */
export function progressBar(percent: number | null, width: number): string {
  const filled = percent === null ? 0 : Math.min(width, Math.floor((Math.max(0, percent) * width) / 100));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** How the terminal display is drawn. */
export interface FrameOptions {
  /** Seconds between refreshes, shown in the header. */
  readonly intervalSeconds: number;
  /** Where the tool reads (password already redacted). */
  readonly source: string;
  /** Highlight with ANSI colours (off with NO_COLOR or TERM=dumb). */
  readonly color: boolean;
  /** Cells of each progress bar. @default 30 */
  readonly barWidth?: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Wed 25 Nov 10:10 UTC`, the same on every machine (no locale data involved). */
export function formatUtc(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${WEEKDAYS[date.getUTCDay()]} ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())} UTC`;
}

/**
 * The lines of one frame of the terminal display: a header, then per queue a progress bar with
 * % done, the counts (expired highlighted yellow, dead letters red when not zero), and the rate
 * and ETA. Everything that is not ours is escaped.
 */
export function renderFrame(view: WatchView, options: FrameOptions): string[] {
  const paint = (style: string, text: string): string => (options.color ? `${style}${text}${STYLE.reset}` : text);
  const time = view.time.slice(11, 19);
  const lines = [`queue watch  ${printable(options.source)}  every ${options.intervalSeconds} s  ${time} UTC  (Ctrl-C to quit)`];
  for (const q of view.queues) {
    lines.push('');
    lines.push(
      `${printable(q.queue)} (${printable(q.workflow)})  ${progressBar(q.percent, options.barWidth ?? 30)} ${formatPercent(q.percent).padStart(6)}  ${groupDigits(q.done)} of ${groupDigits(q.enqueued)} done`,
    );
    const expired = `expired ${groupDigits(q.expired)}`;
    const dead = `dead-lettered ${groupDigits(q.deadLettered)}`;
    lines.push(
      `  pending ${groupDigits(q.pending)}  processing ${groupDigits(q.processing)}  ${q.expired > 0 ? paint(STYLE.yellow, expired) : expired}  ${q.deadLettered > 0 ? paint(STYLE.red, dead) : dead}`,
    );
    lines.push(`  ${rateText(q, view.windowSeconds)}  ${etaText(q, view)}`);
  }
  return lines;
}

function rateText(q: WatchedQueue, windowSeconds: number): string {
  if (q.itemsPerHour === null) return 'rate: measuring';
  return `${formatRate(q.itemsPerHour)} items/h (last ${formatDuration(windowSeconds)})`;
}

function etaText(q: WatchedQueue, view: WatchView): string {
  if (q.pending + q.processing === 0) return q.deadLettered > 0 ? 'ETA: nothing left for workers; dead letters need you' : 'ETA: all done';
  if (q.etaSeconds === null) return q.itemsPerHour === null ? 'ETA: measuring' : 'ETA: no progress';
  const at = new Date(Date.parse(view.time) + q.etaSeconds * 1000);
  return `ETA ${formatDuration(q.etaSeconds)} (${formatUtc(at)})`;
}
