import { createHash } from 'crypto';
import { leaseKey } from '../../protocol/queue-keys';

const S2 = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';

describe('queue keys', () => {
  test('lease key is the sha224 hex of the item bytes', () => {
    const item = `{"in_scene":"${S2}"}`;
    expect(leaseKey({ leasePrefix: 'jobS2:leased_by_session:' }, item)).toBe(`jobS2:leased_by_session:${createHash('sha224').update(item).digest('hex')}`);
  });
});
