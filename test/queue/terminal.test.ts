import { groupDigits } from '../../queue/terminal';

describe('groupDigits', () => {
  it('writes counts with thousands separators, as en-US does', () => {
    expect([0, 7, 999, 1_000, 12_345, 1_000_000, -1_234, Number.MAX_SAFE_INTEGER].map(groupDigits))
      .toEqual(['0', '7', '999', '1,000', '12,345', '1,000,000', '-1,234', '9,007,199,254,740,991']);
  });

  it("writes integers as toLocaleString('en-US') does, without ICU", () => {
    const integers = [0, 1, 12, 999, 1_000, 9_999, 10_000, 123_456, 999_999, 1_000_000, 20_000_001, 4_294_967_296, Number.MAX_SAFE_INTEGER];
    for (const n of [...integers, ...integers.slice(1).map((i) => -i)]) expect([n, groupDigits(n)]).toEqual([n, n.toLocaleString('en-US')]);
  });

  it('keeps the fraction of a non-integer', () => {
    expect(groupDigits(1_234.5)).toBe('1,234.5');
  });
});
