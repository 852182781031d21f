import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import type { ResolvedKedaOperator } from './keda-operator';
import { componentLabels, REDIS_CLIENT_LABEL } from './labels';
import { RedisQueueStore } from './redis-queue-store';

export interface RedisAccessPolicyProps {
  readonly redis: RedisQueueStore;
  /**
   * Also admit the KEDA operator's pods (its namespace, its pod labels): its redis scaler
   * polls the ScaledJob workflows' queues.
   * @default - no KEDA operator
   */
  readonly kedaOperator?: Pick<ResolvedKedaOperator, 'namespace' | 'podLabels'>;
}

/**
 * Admits traffic to Redis only on its port and only from pods labelled
 * `ard-workqueue/redis-client: "true"` (workers, recovery) and, in an environment with a KEDA
 * ScaledJob, from the KEDA operator's pods: the default user has no password,
 * because the worker images cannot send one, so who may connect matters (what it may run is
 * the ACL's business, lib/redis-acl.ts). {@link DefaultDenyIngress} closes every other pod.
 *
 * `kubectl port-forward` still works: the kubelet connects inside the Redis pod's own network
 * namespace, which NetworkPolicies do not filter.
 *
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
export class RedisAccessPolicy extends Construct {
  public readonly policy: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: RedisAccessPolicyProps) {
    super(scope, id);
    const { redis } = props;
    this.policy = new k8s.KubeNetworkPolicy(this, 'policy', {
      metadata: { name: 'redis-access', labels: componentLabels('redis', 'queue-store') },
      spec: {
        podSelector: { matchLabels: redis.selectorLabels },
        policyTypes: ['Ingress'],
        ingress: [{
          from: [
            { podSelector: { matchLabels: { [REDIS_CLIENT_LABEL]: 'true' } } },
            // One peer: pods with these labels in that namespace (not any pod there, nor these labels anywhere).
            ...props.kedaOperator ? [{
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.kedaOperator.namespace } },
              podSelector: { matchLabels: { ...props.kedaOperator.podLabels } },
            }] : [],
          ],
          ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(redis.port) }],
        }],
      },
    });
  }
}
