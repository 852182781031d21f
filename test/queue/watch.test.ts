import { SENTINEL_2 } from '../../protocol/workflows';
import { makeStatus } from '../../queue/status';
import { printable, jsonLine } from '../../queue/terminal';
import { etaSeconds, formatDuration, formatPercent, formatRate, formatUtc, progressBar, RateWindow, renderFrame, watchErrorLine, watchErrorText, WatchState, watchJsonLine } from '../../queue/watch';

const S2 = { workflow: SENTINEL_2, queue: 'jobS2' };
const HOUR = 3_600_000;

describe('RateWindow', () => {
  test('no rate from one sample; items/hour from the first to the newest sample', () => {
    const window = new RateWindow(10 * 60_000);
    window.add(0, 100);
    expect(window.perHour()).toBeNull();
    window.add(60_000, 110);
    window.add(120_000, 130);
    expect(window.spanMs()).toBe(120_000);
    expect(window.perHour()).toBe(900); // 30 items in 2 minutes
  });

  test('slides: keeps one anchor at or before the window start, drops older samples', () => {
    const window = new RateWindow(60_000);
    window.add(0, 0); // 1,000 items/h for the first two minutes…
    window.add(60_000, 1000 / 60);
    window.add(120_000, 2000 / 60);
    window.add(150_000, 2000 / 60); // …then nothing for 30 s
    window.add(180_000, 2000 / 60);
    expect(window.spanMs()).toBe(60_000); // anchor at 120 s: the last minute only
    expect(window.perHour()).toBe(0);
  });

  test('a shrinking done count (keys deleted by hand) starts the window over', () => {
    const window = new RateWindow(HOUR);
    window.add(0, 500);
    window.add(1000, 510);
    window.add(2000, 20);
    expect(window.perHour()).toBeNull();
    window.add(3000, 21);
    expect(window.perHour()).toBe(3600);
  });
});

test('etaSeconds: 0 when nothing is left, null without a positive rate, else remaining / rate', () => {
  expect(etaSeconds(0, null)).toBe(0);
  expect(etaSeconds(0, 0)).toBe(0);
  expect(etaSeconds(10, null)).toBeNull();
  expect(etaSeconds(10, 0)).toBeNull();
  expect(etaSeconds(100, 50)).toBe(7200);
  expect(etaSeconds(1, 3600)).toBe(1);
});

test('formatting: durations, rates, percentages and bars', () => {
  expect([0, 0.2, 59, 60, 61, 3599, 3600, 3660, 86_399, 86_400, 90_000, 200_000].map(formatDuration)).toEqual([
    '0 s', '1 s', '59 s', '1 min', '2 min', '1 h 0 min', '1 h 0 min', '1 h 1 min', '1 d 0 h', '1 d 0 h', '1 d 1 h', '2 d 8 h',
  ]);
  expect([0, 0.25, 99.94, 100, 12_345.6].map(formatRate)).toEqual(['0.0', '0.3', '99.9', '100', '12,346']);
  expect([null, 0, 66.66, 99.99, 100].map(formatPercent)).toEqual(['-', '0.0%', '66.6%', '99.9%', '100.0%']);
  expect(formatUtc(new Date('2026-11-25T10:10:59Z'))).toBe('Wed 25 Nov 10:10 UTC');
  expect(formatUtc(new Date('2027-01-03T00:05:00Z'))).toBe('Sun 3 Jan 00:05 UTC');
  expect(progressBar(null, 10)).toBe('[----------]');
  expect(progressBar(49.9, 10)).toBe('[####------]');
  expect(progressBar(100, 10)).toBe('[##########]');
});

describe('WatchState and its output', () => {
  const at = (iso: string): Date => new Date(iso);
  const status = (pending: number, enqueued: number) => makeStatus(S2, { pending, processing: 2, leased: 1, deadLettered: 3, enqueued });

  test('the first reading has no rate; later ones rate and ETA over the window', () => {
    const state = new WatchState(HOUR);
    const first = state.update([status(100, 1000)], 0, at('2026-11-25T10:00:00Z'));
    expect(first).toEqual({ time: '2026-11-25T10:00:00.000Z', windowSeconds: 0, queues: [{ ...status(100, 1000), itemsPerHour: null, etaSeconds: null }] });
    // 10 more done in 60 s: 600 items/h; 60 + 2 left: 372 s.
    const second = state.update([status(90, 1000)], 60_000, at('2026-11-25T10:01:00Z'));
    expect(second.windowSeconds).toBe(60);
    expect(second.queues[0]).toMatchObject({ done: 905, percent: 90.5, itemsPerHour: 600, etaSeconds: 552 });
    expect(watchJsonLine(second)).toBe(JSON.stringify(second) + '\n');
  });

  test('renderFrame: bar, counts, rate and ETA; expired and dead letters highlighted only with colour and only when not zero', () => {
    const state = new WatchState(HOUR);
    state.update([status(100, 1000)], 0, at('2026-11-25T10:00:00Z'));
    const view = state.update([status(90, 1000)], 60_000, at('2026-11-25T10:01:00Z'));
    const options = { intervalSeconds: 2, source: 'redis://admin:***@127.0.0.1:6379', color: false, barWidth: 20 };
    expect(renderFrame(view, options)).toEqual([
      'queue watch  redis://admin:***@127.0.0.1:6379  every 2 s  10:01:00 UTC  (Ctrl-C to quit)',
      '',
      'jobS2 (s2)  [##################--]  90.5%  905 of 1,000 done',
      '  pending 90  processing 2  expired 1  dead-lettered 3',
      '  600 items/h (last 1 min)  ETA 10 min (Wed 25 Nov 10:10 UTC)',
    ]);
    expect(renderFrame(view, { ...options, color: true })[3]).toBe('  pending 90  processing 2  \x1b[1;33mexpired 1\x1b[0m  \x1b[1;31mdead-lettered 3\x1b[0m');
    const calm = new WatchState(HOUR).update([makeStatus(S2, { pending: 0, processing: 0, leased: 0, deadLettered: 0, enqueued: 4 })], 0, at('2026-11-25T10:00:00Z'));
    expect(renderFrame(calm, { ...options, color: true }).slice(2)).toEqual([
      'jobS2 (s2)  [####################] 100.0%  4 of 4 done',
      '  pending 0  processing 0  expired 0  dead-lettered 0',
      '  rate: measuring  ETA: all done',
    ]);
  });

  test('no progress, and dead letters left when workers are done', () => {
    const state = new WatchState(HOUR);
    state.update([status(100, 1000)], 0, at('2026-11-25T10:00:00Z'));
    const stalled = state.update([status(100, 1000)], 60_000, at('2026-11-25T10:01:00Z'));
    expect(renderFrame(stalled, { intervalSeconds: 2, source: 'x', color: false })[4]).toBe('  0.0 items/h (last 1 min)  ETA: no progress');
    const left = new WatchState(HOUR).update([makeStatus(S2, { pending: 0, processing: 0, leased: 0, deadLettered: 2, enqueued: 4 })], 0, at('2026-11-25T10:00:00Z'));
    expect(renderFrame(left, { intervalSeconds: 2, source: 'x', color: false })[4]).toBe('  rate: measuring  ETA: nothing left for workers; dead letters need you');
  });

  test('control characters from outside are escaped in the frame and in JSON lines', () => {
    const hostile = makeStatus({ workflow: SENTINEL_2, queue: 'q\x1b]0;pwned\x07\x9b2J' }, { pending: 0, processing: 0, leased: 0, deadLettered: 0, enqueued: 0 });
    const view = new WatchState().update([hostile], 0, at('2026-11-25T10:00:00Z'));
    const frame = renderFrame(view, { intervalSeconds: 2, source: 'redis://h\x1b[2J', color: false }).join('\n');
    expect(frame).toContain('q\\x1b]0;pwned\\x07\\x9b2J (s2)');
    expect(frame).toContain('redis://h\\x1b[2J');
    expect(frame).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/); // eslint-disable-line no-control-regex
    const line = watchJsonLine(view);
    expect(line).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/); // eslint-disable-line no-control-regex
    expect(JSON.parse(line).queues[0].queue).toBe('q\x1b]0;pwned\x07\x9b2J');
    expect(printable('a\nb\u0085c')).toBe('a\\x0ab\\x85c');
    expect(jsonLine('\u2028')).toBe('"\\u2028"\n');
  });
});

test('a refresh that cannot read Redis: a JSON error line, and a highlighted line on the terminal', () => {
  const since = new Date('2026-11-25T10:00:05Z');
  expect(watchErrorLine(since, 'Connection is closed.')).toBe('{"time":"2026-11-25T10:00:05.000Z","error":"Connection is closed."}\n');
  expect(watchErrorText('Connection\x1b[2J is closed.', since, false)).toBe('Redis unreachable since 10:00:05 UTC, retrying: Connection\\x1b[2J is closed.');
  expect(watchErrorText('x', since, true)).toBe('\x1b[1;31mRedis unreachable since 10:00:05 UTC, retrying: x\x1b[0m');
});
