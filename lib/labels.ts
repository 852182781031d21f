/**
 * Labels shared by our objects.
 *
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
 */

export const PART_OF = 'ard-workqueue';

/** Pods with this label set to "true" may connect to Redis (see {@link RedisAccessPolicy}). */
export const REDIS_CLIENT_LABEL = 'ard-workqueue/redis-client';

/** The workflow a worker Job or recovery CronJob serves. */
export const WORKFLOW_LABEL = 'ard-workqueue/workflow';

/** Recommended labels for one component. */
export function componentLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}
