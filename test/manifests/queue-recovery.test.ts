import { QueueRecovery, QueueRecoveryProps, RECOVERY_LOOP } from '../../lib/queue-recovery';
import { loadLuaScript } from '../../protocol/lua';
import { queueKeys } from '../../protocol/queue-keys';
import { DEFAULT_GRACE_SECONDS, DEFAULT_MAX_ATTEMPTS, REQUEUE_EXPIRED_SCRIPT, requeueExpiredArguments } from '../../protocol/recovery';
import { RedisQueueStore } from '../../lib/redis-queue-store';
import { SENTINEL_2 } from '../../protocol/workflows';
import { onlyOfKind } from '../support/manifests';
import { synthChart } from '../support/synth';

type Options = Omit<QueueRecoveryProps, 'redis' | 'workflows'>;
const synthRecovery = (options: Options = {}) => synthChart((chart) => {
  const redis = new RedisQueueStore(chart, 'redis');
  new QueueRecovery(chart, 'recovery', { ...options, redis, workflows: [SENTINEL_2] });
});

// Every prop set, so that a new prop cannot go untested.
const ALL_PROPS: Required<Options> = { schedule: '*/5 * * * *', graceSeconds: 120, maxAttempts: 5, suspend: true };

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
      'timeout', '60', 'sh', '-c', RECOVERY_LOOP, 'requeue-expired',
      'redis-cli', '-e', '--user', 'admin', '-h', 'redis-master', '-p', '6379',
      '--eval', '/scripts/requeue-expired.lua', ...keys, ',', ...args,
    ]);
    // The admin password from the operator's Secret, never a value.
    expect(pod.containers[0].env).toEqual([{ name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: { name: 'redis-admin', key: 'password' } } }]);
    expect(keys).toEqual(['jobS2', 'jobS2:processing', 'jobS2:attempts', 'jobS2:unleased_since', 'jobS2:dead_letter']);
    expect(pod.volumes).toEqual([{ name: 'script', configMap: { name: 'queue-recovery-script' } }]);
  });

  test('its Jobs carry the CronJob\'s labels, so the same selectors find them; not suspended by default', () => {
    const cronJob = onlyOfKind(synthRecovery(), 'CronJob');
    expect(cronJob.spec.jobTemplate.metadata.labels).toEqual(cronJob.metadata.labels);
    expect(cronJob.metadata.labels['ard-workqueue/workflow']).toBe('s2');
    expect(cronJob.spec.suspend).toBe(false);
  });

  test('a workflow name that would make the CronJob name longer than 52 characters fails synth', () => {
    const workflow = (name: string) => ({ ...SENTINEL_2, name });
    const synthFor = (name: string) => synthChart((chart) => {
      new QueueRecovery(chart, 'recovery', { redis: new RedisQueueStore(chart, 'redis'), workflows: [workflow(name)] });
    });
    expect(onlyOfKind(synthFor('a'.repeat(36)), 'CronJob').metadata.name).toHaveLength(52);
    expect(() => synthFor('a'.repeat(37))).toThrow(
      `workflow name "${'a'.repeat(37)}" makes the CronJob name "${'a'.repeat(37)}-requeue-expired" 53 characters long; ` +
        'CronJob names have at most 52, so the workflow name may have at most 36',
    );
  });

  test('all props reach the manifests', () => {
    const cronJob = onlyOfKind(synthRecovery(ALL_PROPS), 'CronJob');
    expect(cronJob.spec.schedule).toBe('*/5 * * * *');
    expect(cronJob.spec.suspend).toBe(true);
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
