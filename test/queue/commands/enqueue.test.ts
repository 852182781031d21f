import { Readable } from 'stream';
import { formatSummary, makeSummary, parseEnqueueArgs } from '../../../queue/commands/enqueue';

const S2 = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';
const NO_TTY = { env: {}, stdin: Object.assign(Readable.from([]), { isTTY: false }) };

describe('enqueue command', () => {
  test('enqueue flags', () => {
    const request = parseEnqueueArgs([S2, '--no-dedupe', '--dry-run', '--json'], NO_TTY);
    expect(request).toMatchObject({ mode: 'none', dryRun: true, json: true, input: { kind: 'arguments', scenes: [S2] } });
    expect(parseEnqueueArgs(['--file', '-', '--force'], NO_TTY)).toMatchObject({ mode: 'force', input: { kind: 'stdin' } });
    expect(parseEnqueueArgs([], NO_TTY)).toMatchObject({ mode: 'dedupe', input: { kind: 'stdin' } });
    expect(() => parseEnqueueArgs([S2, '--force', '--no-dedupe'], NO_TTY)).toThrow('--no-dedupe and --force cannot be combined');
    expect(() => parseEnqueueArgs([S2, '--file', 'x'], NO_TTY)).toThrow('give scene IDs either as arguments or with --file, not both');
    expect(() => parseEnqueueArgs([], { env: {}, stdin: Object.assign(Readable.from([]), { isTTY: true }) })).toThrow(
      'no scene IDs: give them as arguments, with --file PATH, or on stdin (--file -)',
    );
    expect(() => parseEnqueueArgs(['--frce'], NO_TTY)).toThrow("enqueue: Unknown option '--frce'");
  });
  test('summary names every skip reason', () => {
    const request = parseEnqueueArgs([S2], NO_TTY);
    const summary = makeSummary(request, 10, { pushed: 6, duplicateInInput: 1, enqueuedBefore: 2, pendingOrProcessing: 1 }, 'run1', 1234);
    expect(formatSummary(summary)).toBe(
      'jobS2 (s2): pushed 6 items; skipped 4: 2 enqueued by an earlier run (use --force to push them again), 1 pending or processing right now, 1 repeated in the input (10 scene IDs read, 1.2 s)',
    );
  });
});
