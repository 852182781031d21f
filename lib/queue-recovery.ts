import * as kplus from 'cdk8s-plus-27';
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
  /**
   * Create the CronJobs suspended: no run starts until `suspend` is false again (e.g. between
   * campaigns). Runs already started finish.
   * @default false
   */
  readonly suspend?: boolean;
}

/** CronJob names are limited to 52 characters: the controller appends 11 to name its Jobs. */
export const MAX_CRONJOB_NAME_LENGTH = 52;

/** Seconds one recovery run may take, connecting included, before `timeout` fails it. */
export const RECOVERY_TIMEOUT_SECONDS = 60;

/**
 * The shell loop of a recovery run, `sh -c RECOVERY_LOOP requeue-expired <redis-cli … ARGV…>`:
 * calls the script with listItems 0 and the cursor the call before returned, starting from 0,
 * until it returns 0 (each call looks at a bounded chunk of the processing list, so Redis is
 * never held for long), then prints the four counts summed. A failed call (error reply, lost
 * connection) or a reply of another shape (fields missing or not numbers, lines beyond the five)
 * stops the run with its output on stderr.
 */
export const RECOVERY_LOOP = [
  'set -eu',
  'requeued=0 dead=0 waiting=0 leased=0 cursor=0',
  'while :; do',
  '  reply=$("$@" 0 "$cursor") || { printf \'%s\\n\' "$reply" >&2; exit 1; }',
  '  extra=',
  '  { read -r r; read -r d; read -r w; read -r l; read -r cursor; read -r extra; } <<EOF || true',
  '$reply',
  'EOF',
  '  case "$r:$d:$w:$l:$cursor" in',
  '    *::* | :* | *: | *[!0-9a-f:h]*) printf \'requeue-expired: unexpected reply: %s\\n\' "$reply" >&2; exit 1 ;;',
  '  esac',
  '  [ -z "$extra" ] || { printf \'requeue-expired: unexpected reply: %s\\n\' "$reply" >&2; exit 1; }',
  '  requeued=$((requeued + r)) dead=$((dead + d)) waiting=$((waiting + w)) leased=$((leased + l))',
  '  [ "$cursor" != 0 ] || break',
  'done',
  'printf \'%s\\n\' "$requeued" "$dead" "$waiting" "$leased"',
].join('\n');

/** `<workflow>-requeue-expired`. */
export function recoveryCronJobName(workflow: string): string {
  const name = `${workflow}-requeue-expired`;
  if (name.length > MAX_CRONJOB_NAME_LENGTH) {
    throw new ConfigError(
      `workflow name ${JSON.stringify(workflow)} makes the CronJob name ${JSON.stringify(name)} ${name.length} characters long; ` +
        `CronJob names have at most ${MAX_CRONJOB_NAME_LENGTH}, so the workflow name may have at most ${MAX_CRONJOB_NAME_LENGTH - name.length + workflow.length}`,
    );
  }
  return name;
}

/**
 * Recovery of the items of dead workers, in the cluster: per workflow, a CronJob that runs
 * `redis-cli -e --eval requeue-expired.lua` as the admin user, call after call
 * ({@link RECOVERY_LOOP}), with the Redis image we already deploy. The script is the queue
 * tool's own (protocol/lua/requeue-expired.lua, bundled), mounted from a ConfigMap. A run fails loudly: an error reply (`-e`), a failed AUTH (then
 * NOPERM), or a run longer than {@link RECOVERY_TIMEOUT_SECONDS} exits non-zero, and the Job
 * shows as failed.
 *
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/
 */
export class QueueRecovery extends Construct {
  public readonly schedule: string;
  public readonly graceSeconds: number;
  public readonly maxAttempts: number;
  public readonly suspend: boolean;
  public readonly scriptConfigMap: kplus.ConfigMap;
  public readonly cronJobs: readonly k8s.KubeCronJob[];

  constructor(scope: Construct, id: string, props: QueueRecoveryProps) {
    super(scope, id);
    this.schedule = props.schedule ?? DEFAULT_RECOVERY_SCHEDULE;
    if (this.schedule.trim().split(/\s+/).length !== 5) {
      throw new ConfigError(`'recovery.schedule' must be a cron expression of five fields (e.g. "* * * * *"), got ${JSON.stringify(this.schedule)}`);
    }
    this.graceSeconds = nonNegativeInteger('recovery.graceSeconds', props.graceSeconds ?? DEFAULT_GRACE_SECONDS);
    this.maxAttempts = positiveInteger('recovery.maxAttempts', props.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.suspend = props.suspend ?? false;

    const labels = componentLabels('ard-queue-recovery', 'queue-recovery');
    const scriptFile = `${REQUEUE_EXPIRED_SCRIPT}.lua`;
    this.scriptConfigMap = new kplus.ConfigMap(this, 'script', {
      metadata: { name: 'queue-recovery-script', labels },
      data: { [scriptFile]: loadLuaScript(REQUEUE_EXPIRED_SCRIPT).source },
    });

    const redis = props.redis;
    this.cronJobs = props.workflows.map((workflow) => {
      const { keys, args } = requeueExpiredArguments(queueKeys(workflow.queue), {
        graceSeconds: this.graceSeconds,
        maxAttempts: this.maxAttempts,
      });
      const jobLabels = { ...labels, [WORKFLOW_LABEL]: workflow.name };
      const podLabels = { ...jobLabels, [REDIS_CLIENT_LABEL]: 'true' };
      return new k8s.KubeCronJob(this, workflow.name, {
        metadata: { name: recoveryCronJobName(workflow.name), labels: jobLabels },
        spec: {
          schedule: this.schedule,
          suspend: this.suspend,
          // Runs never overlap; each call of the script is atomic anyway, this just avoids a pile-up.
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: 120,
          successfulJobsHistoryLimit: 1,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            // Its Jobs are found with the same selectors as the CronJob (`-l ard-workqueue/workflow=s2`).
            metadata: { labels: jobLabels },
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
                    // Prints the run's requeued, dead-lettered, waiting (grace period), leased. `-e`:
                    // an error reply exits 1; without it redis-cli exits 0 and the Job looks fine.
                    // `timeout` bounds connecting and the script alike (redis-cli has no read timeout).
                    command: [
                      'timeout', String(RECOVERY_TIMEOUT_SECONDS), 'sh', '-c', RECOVERY_LOOP, 'requeue-expired',
                      'redis-cli', '-e', '--user', redis.adminUser, '-h', redis.serviceHost, '-p', String(redis.port),
                      '--eval', `/scripts/${scriptFile}`, ...keys, ',', ...args,
                    ],
                    // redis-cli reads the password from here: it never shows in the process list.
                    env: [{
                      name: 'REDISCLI_AUTH',
                      valueFrom: { secretKeyRef: { name: redis.adminPasswordSecret.name, key: redis.adminPasswordSecret.key } },
                    }],
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
