import { setting } from '../../bench/interleaved';

// The benchmarks' settings (BENCH_COUNT, BENCH_ROUNDS, …): a wrong value ends the bench before it
// starts, with one line naming the variable and its value, and exit 2.
describe('bench settings from the environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });

  test('a positive whole number is taken; unset or empty gives the default', () => {
    process.env.BENCH_TEST = '250000';
    expect(setting('BENCH_TEST', 9)).toBe(250_000);
    process.env.BENCH_TEST = '';
    expect(setting('BENCH_TEST', 9)).toBe(9);
    delete process.env.BENCH_TEST;
    expect(setting('BENCH_TEST', 9)).toBe(9);
  });

  test.each(['abc', '0', '-5', '1.5', '1e6', ' 5'])("'%s' ends the bench with exit 2 and one line, no stack trace", (value) => {
    process.env.BENCH_TEST = value;
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    jest.spyOn(process, 'exit').mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    expect(() => setting('BENCH_TEST', 9)).toThrow('exit 2');
    expect(stderr.mock.calls).toEqual([[`error: BENCH_TEST must be a positive whole number, got '${value}'\n`]]);
  });
});
