import { withThousands } from '../../queue/terminal';

describe('withThousands', () => {
  test("writes integers as toLocaleString('en-US') does, without ICU", () => {
    const integers = [0, 1, 12, 999, 1_000, 9_999, 10_000, 123_456, 999_999, 1_000_000, 20_000_001, 4_294_967_296, Number.MAX_SAFE_INTEGER];
    for (const n of [...integers, ...integers.slice(1).map((i) => -i)]) expect([n, withThousands(n)]).toEqual([n, n.toLocaleString('en-US')]);
  });
});
