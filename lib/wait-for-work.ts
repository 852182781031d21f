import * as k8s from '../imports/k8s';
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT, resourceRequirements, REDIS_UID } from './pod-security';
import { queueKeys } from '../protocol/queue-keys';
import { RedisQueueStore } from './redis-queue-store';

/** Default bound of the wait for work: 30 minutes. */
export const DEFAULT_WAIT_FOR_WORK_SECONDS = 1800;

/** Seconds between two looks at Redis. */
export const WAIT_FOR_WORK_POLL_SECONDS = 5;

/** Name of the gate init container of every worker pod. */
export const WAIT_FOR_WORK_CONTAINER = 'wait-for-work';

/**
 * The gate's POSIX sh script. It reads REDIS_HOST, REDIS_PORT, QUEUE, PROCESSING and
 * WAIT_FOR_WORK_SECONDS from its container's environment, and uses only `redis-cli PING` and
 * `LLEN`, the commands an unauthenticated client may run.
 *
 * - exits 0 as soon as `LLEN QUEUE + LLEN PROCESSING > 0`: there is work, or items in flight
 *   that recovery may give back;
 * - exits 0 once WAIT_FOR_WORK_SECONDS have passed and Redis answers with an empty queue: the
 *   worker then runs and exits 0, so a Job applied by mistake completes instead of waiting forever;
 * - never lets the worker run against a Redis that does not answer: that would only fail the
 *   pod and count against the Job's backoffLimit.
 * Logs a line whenever what it sees changes.
 */
export const WAIT_FOR_WORK_SCRIPT = [
  'start=$(date +%s); last=""',
  'say() { [ "$1" = "$last" ] || echo "wait-for-work: $1"; last=$1; }',
  'cli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@" 2>&1; }',
  'while :; do',
  '  pong=$(cli PING)',
  '  if [ "$pong" = PONG ]; then',
  '    pending=$(cli LLEN "$QUEUE"); processing=$(cli LLEN "$PROCESSING")',
  '    case "$pending$processing" in',
  '      ""|*[!0-9]*) say "unexpected LLEN reply from $REDIS_HOST:$REDIS_PORT: $pending $processing" ;;',
  '      *) if [ $((pending + processing)) -gt 0 ]; then',
  '           echo "wait-for-work: $pending pending, $processing processing in $QUEUE: starting the worker"; exit 0',
  '         fi',
  '         if [ $(($(date +%s) - start)) -ge "$WAIT_FOR_WORK_SECONDS" ]; then',
  '           echo "wait-for-work: $QUEUE still empty after ${WAIT_FOR_WORK_SECONDS}s: starting the worker, which exits 0 on an empty queue"; exit 0',
  '         fi',
  '         say "$QUEUE and $PROCESSING are empty: waiting up to ${WAIT_FOR_WORK_SECONDS}s for work" ;;',
  '    esac',
  '  else',
  '    say "waiting for redis at $REDIS_HOST:$REDIS_PORT: $pong"',
  '  fi',
  `  sleep ${WAIT_FOR_WORK_POLL_SECONDS}`,
  'done',
].join('\n');

export interface WaitForWorkGateProps {
  readonly redis: RedisQueueStore;
  /** The workflow's queue name, e.g. `jobS2`. */
  readonly queue: string;
  /** Bound of the wait for work, in seconds; 0 waits only for Redis. */
  readonly waitSeconds: number;
}

/**
 * The wait-for-work gate: an init container (the Redis image's `sh` and `redis-cli`) that
 * holds the worker until Redis answers and the queue holds work, at most `waitSeconds`.
 * With `restartPolicy: Never` every attempt is a new pod, so every attempt passes the gate.
 *
 * The worker images exit 0 when `Q` and `Q:processing` are both empty, and the first worker
 * to exit 0 completes a work-queue Job: without the gate, workers applied before the enqueue
 * would complete the Job with zero work.
 *
 * @see https://kubernetes.io/docs/concepts/workloads/pods/init-containers/
 * @see https://kubernetes.io/docs/tasks/job/fine-parallel-processing-work-queue/
 */
export function waitForWorkGate(props: WaitForWorkGateProps): k8s.Container {
  const keys = queueKeys(props.queue);
  return {
    name: WAIT_FOR_WORK_CONTAINER,
    // Not redis.image: patching the Redis server must not rename running worker Jobs.
    image: props.redis.clientImage,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', WAIT_FOR_WORK_SCRIPT],
    env: [
      { name: 'REDIS_HOST', value: props.redis.serviceHost },
      { name: 'REDIS_PORT', value: String(props.redis.port) },
      { name: 'QUEUE', value: keys.pending },
      { name: 'PROCESSING', value: keys.processing },
      { name: 'WAIT_FOR_WORK_SECONDS', value: String(props.waitSeconds) },
    ],
    resources: resourceRequirements({ cpu: '10m', memory: '32Mi' }),
    securityContext: { ...RESTRICTED_CONTAINER_SECURITY_CONTEXT, runAsUser: REDIS_UID, runAsGroup: REDIS_UID },
  };
}
