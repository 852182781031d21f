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

describe('status: done and percent', () => {
  test('done = enqueued - pending - processing - deadLettered; percent rounded down to 2 decimals', () => {
    const status = makeStatus(S2_TARGET, { pending: 1, processing: 1, leased: 1, deadLettered: 1, enqueued: 6 });
    expect(status).toMatchObject({ done: 3, percent: 50 });
    expect(makeStatus(S2_TARGET, { pending: 1, processing: 0, leased: 0, deadLettered: 0, enqueued: 3 }).percent).toBe(66.66);
    expect(makeStatus(S2_TARGET, { pending: 0, processing: 0, leased: 0, deadLettered: 0, enqueued: 3 }).percent).toBe(100);
  });

  test('done is at least 0 (items pushed without the tool are not recorded); percent null when nothing is recorded', () => {
    expect(makeStatus(S2_TARGET, { pending: 5, processing: 2, leased: 2, deadLettered: 0, enqueued: 3 })).toMatchObject({ done: 0, percent: 0 });
    expect(makeStatus(S2_TARGET, { pending: 5, processing: 0, leased: 0, deadLettered: 0, enqueued: 0 })).toMatchObject({ done: 0, percent: null });
  });
});
