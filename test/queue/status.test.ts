import { SENTINEL_2 } from '../../protocol/workflows';
import { formatStatusTable } from '../../queue/commands/status';
import { makeStatus } from '../../queue/status';

const S2_TARGET = { workflow: SENTINEL_2, queue: 'jobS2' };

describe('status', () => {
  test('status: expired = processing - leased; table', () => {
    const status = makeStatus(S2_TARGET, { pending: 1200, processing: 3, leased: 2, deadLettered: 0, enqueued: 1205 });
    expect(status).toEqual({ queue: 'jobS2', workflow: 's2', pending: 1200, processing: 3, leased: 2, expired: 1, deadLettered: 0, enqueued: 1205, done: 2, percent: 0.16 });
    expect(formatStatusTable([status])).toBe(
      'queue  workflow  pending  processing  leased  expired  deadLettered  enqueued  done     %\n' +
        'jobS2  s2          1,200           3       2        1             0     1,205     2  0.1%\n',
    );
  });
});
