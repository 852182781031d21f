import { QueueRecovery, QueueRecoveryProps } from '../../lib/queue-recovery';
import { loadLuaScript } from '../../protocol/lua';
import { queueKeys } from '../../protocol/queue-keys';
import { DEFAULT_GRACE_SECONDS, DEFAULT_MAX_ATTEMPTS, REQUEUE_EXPIRED_SCRIPT, requeueExpiredArguments } from '../../protocol/recovery';
import { RedisQueueStore } from '../../lib/redis-queue-store';
import { SENTINEL_2 } from '../../protocol/workflows';
import { onlyOfKind, synthChart } from '../support/manifests';

type Options = Omit<QueueRecoveryProps, 'redis' | 'workflows'>;
const synthRecovery = (options: Options = {}) => synthChart((chart) => {
  const redis = new RedisQueueStore(chart, 'redis');
  new QueueRecovery(chart, 'recovery', { ...options, redis, workflows: [SENTINEL_2] });
});

// Every prop set, so that a new prop cannot go untested.
const ALL_PROPS: Required<Options> = { schedule: '*/5 * * * *', graceSeconds: 120, maxAttempts: 5 };

describe('QueueRecovery', () => {
  test('a CronJob per workflow, every minute, never overlapping, with the Redis image', () => {
    const cronJob = onlyOfKind(synthRecovery(), 'CronJob');
    expect(cronJob.metadata.name).toBe('s2-requeue-expired');
    expect(cronJob.spec.schedule).toBe('* * * * *');
    expect(cronJob.spec.concurrencyPolicy).toBe('Forbid');
    expect(cronJob.spec.jobTemplate.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
    const [container] = cronJob.spec.jobTemplate.spec.template.spec.containers;
    expect(container.image).toBe(onlyOfKind(synthRecovery(), 'StatefulSet').spec.template.spec.containers[0].image);
  });

  test('runs the queue tool\'s own Lua script, mounted from a ConfigMap, with the shared arguments', () => {
    const objects = synthRecovery();
    const configMap = onlyOfKind(objects, 'ConfigMap', 'queue-recovery-script');
    expect(configMap.data['requeue-expired.lua']).toBe(loadLuaScript(REQUEUE_EXPIRED_SCRIPT).source);
    const pod = onlyOfKind(objects, 'CronJob').spec.jobTemplate.spec.template.spec;
    const { keys, args } = requeueExpiredArguments(queueKeys('jobS2'), { graceSeconds: DEFAULT_GRACE_SECONDS, maxAttempts: DEFAULT_MAX_ATTEMPTS });
    expect(pod.containers[0].command).toEqual([
      'redis-cli', '-h', 'redis-master', '-p', '6379', '--eval', '/scripts/requeue-expired.lua', ...keys, ',', ...args,
    ]);
    expect(keys).toEqual(['jobS2', 'jobS2:processing', 'jobS2:attempts', 'jobS2:unleased_since', 'jobS2:dead_letter']);
    expect(pod.volumes).toEqual([{ name: 'script', configMap: { name: 'queue-recovery-script' } }]);
  });

  test('all props reach the manifests', () => {
    const cronJob = onlyOfKind(synthRecovery(ALL_PROPS), 'CronJob');
    expect(cronJob.spec.schedule).toBe('*/5 * * * *');
    expect(cronJob.spec.jobTemplate.spec.template.spec.containers[0].command.slice(-4)).toEqual(['jobS2:leased_by_session:', '120', '5', '0']);
  });

  test.each([
    [{ schedule: 'every minute' }, `'recovery.schedule' must be a cron expression of five fields (e.g. "* * * * *"), got "every minute"`],
    [{ graceSeconds: -1 }, `'recovery.graceSeconds' must be a non-negative integer, got -1`],
    [{ maxAttempts: 0 }, `'recovery.maxAttempts' must be a positive integer, got 0`],
  ])('refuses %j', (options, message) => {
    expect(() => synthRecovery(options)).toThrow(message);
  });
});
