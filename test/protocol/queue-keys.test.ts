import { leaseKey, queueKeys } from '../../protocol/queue-keys';

const S2 = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';

describe('queue keys', () => {
  test('the keys of a queue', () => {
    expect(queueKeys('jobS2')).toEqual({
      pending: 'jobS2',
      processing: 'jobS2:processing',
      leasePrefix: 'jobS2:leased_by_session:',
      enqueued: 'jobS2:enqueued',
      enqueueLock: 'jobS2:enqueue_lock',
      attempts: 'jobS2:attempts',
      unleasedSince: 'jobS2:unleased_since',
      deadLetter: 'jobS2:dead_letter',
      snapshotPrefix: 'jobS2:force_snapshot:',
    });
  });

  // A known answer (sha224 of the item's bytes, as rediswq's _itemkey), not a recomputation.
  test('lease key is the sha224 hex of the item bytes', () => {
    expect(leaseKey(queueKeys('jobS2'), `{"in_scene":"${S2}"}`)).toBe('jobS2:leased_by_session:79d85e26ca1f6d176edc0f537a6943e9825ea87c839308486b5cba40');
  });
});
