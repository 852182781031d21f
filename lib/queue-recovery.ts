import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { loadLuaScript } from '../protocol/lua';
import { componentLabels, REDIS_CLIENT_LABEL, WORKFLOW_LABEL } from './labels';
import { REDIS_UID, RESTRICTED_CONTAINER_SECURITY_CONTEXT, resourceRequirements, restrictedPodSecurityContext } from './pod-security';
import { queueKeys } from '../protocol/queue-keys';
import {
  DEFAULT_GRACE_SECONDS, DEFAULT_MAX_ATTEMPTS, DEFAULT_RECOVERY_SCHEDULE, REQUEUE_EXPIRED_SCRIPT, requeueExpiredArguments,
} from '../protocol/recovery';
import { RedisQueueStore } from './redis-queue-store';
import { ConfigError, nonNegativeInteger, positiveInteger } from './validation';
import { WorkflowDefinition } from '../protocol/workflows';

export interface QueueRecoveryProps {
  /** The queue store: its image runs the script, its Service is where it connects. */
  readonly redis: RedisQueueStore;
  /** The workflows whose queues are recovered, one CronJob each. */
  readonly workflows: readonly WorkflowDefinition[];
  /**
   * Cron schedule of the recovery runs.
   * @default DEFAULT_RECOVERY_SCHEDULE (every minute)
   */
  readonly schedule?: string;
  /**
   * Seconds an item must be seen in processing without a lease before it is requeued.
   * @default DEFAULT_GRACE_SECONDS
   */
  readonly graceSeconds?: number;
  /**
   * Take-backs after which an item goes to the dead-letter list.
   * @default DEFAULT_MAX_ATTEMPTS
   */
  readonly maxAttempts?: number;
}

/**
 * Recovery of the items of dead workers, in the cluster: per workflow, a CronJob that runs
 * `redis-cli --eval requeue-expired.lua` with the Redis image we already deploy. The script is
 * the queue tool's own (protocol/lua/requeue-expired.lua, bundled), mounted from a ConfigMap.
 *
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/
 */
export class QueueRecovery extends Construct {
  public readonly schedule: string;
  public readonly graceSeconds: number;
  public readonly maxAttempts: number;
  public readonly scriptConfigMap: k8s.KubeConfigMap;
  public readonly cronJobs: readonly k8s.KubeCronJob[];

  constructor(scope: Construct, id: string, props: QueueRecoveryProps) {
    super(scope, id);
    this.schedule = props.schedule ?? DEFAULT_RECOVERY_SCHEDULE;
    if (this.schedule.trim().split(/\s+/).length !== 5) {
      throw new ConfigError(`'recovery.schedule' must be a cron expression of five fields (e.g. "* * * * *"), got ${JSON.stringify(this.schedule)}`);
    }
    this.graceSeconds = nonNegativeInteger('recovery.graceSeconds', props.graceSeconds ?? DEFAULT_GRACE_SECONDS);
    this.maxAttempts = positiveInteger('recovery.maxAttempts', props.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);

    const labels = componentLabels('ard-queue-recovery', 'queue-recovery');
    const scriptFile = `${REQUEUE_EXPIRED_SCRIPT}.lua`;
    this.scriptConfigMap = new k8s.KubeConfigMap(this, 'script', {
      metadata: { name: 'queue-recovery-script', labels },
      data: { [scriptFile]: loadLuaScript(REQUEUE_EXPIRED_SCRIPT).source },
    });

    const redis = props.redis;
    this.cronJobs = props.workflows.map((workflow) => {
      const { keys, args } = requeueExpiredArguments(queueKeys(workflow.queue), {
        graceSeconds: this.graceSeconds,
        maxAttempts: this.maxAttempts,
      });
      const podLabels = { ...labels, [WORKFLOW_LABEL]: workflow.name, [REDIS_CLIENT_LABEL]: 'true' };
      return new k8s.KubeCronJob(this, workflow.name, {
        metadata: { name: `${workflow.name}-requeue-expired`, labels: { ...labels, [WORKFLOW_LABEL]: workflow.name } },
        spec: {
          schedule: this.schedule,
          // Runs never overlap; the script is atomic anyway, this just avoids a pile-up.
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: 120,
          successfulJobsHistoryLimit: 1,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            spec: {
              backoffLimit: 0,
              activeDeadlineSeconds: 120,
              ttlSecondsAfterFinished: 600,
              template: {
                metadata: { labels: podLabels },
                spec: {
                  restartPolicy: 'Never',
                  automountServiceAccountToken: false,
                  enableServiceLinks: false,
                  securityContext: restrictedPodSecurityContext(REDIS_UID),
                  containers: [{
                    name: 'requeue-expired',
                    image: redis.image,
                    imagePullPolicy: 'IfNotPresent',
                    // Prints: requeued, dead-lettered, waiting (grace period), leased.
                    command: [
                      'redis-cli', '-h', redis.serviceHost, '-p', String(redis.port),
                      '--eval', `/scripts/${scriptFile}`, ...keys, ',', ...args,
                    ],
                    resources: resourceRequirements({ cpu: '10m', memory: '32Mi' }),
                    securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
                    volumeMounts: [{ name: 'script', mountPath: '/scripts', readOnly: true }],
                  }],
                  volumes: [{ name: 'script', configMap: { name: this.scriptConfigMap.name } }],
                },
              },
            },
          },
        },
      });
    });
  }
}
