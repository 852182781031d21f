import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { PART_OF } from './labels';

/**
 * Denies all ingress to every pod of the namespace unless another NetworkPolicy admits it
 * (e.g. {@link RedisAccessPolicy}). Policies add up, so this is the floor: a pod added later
 * (a debug pod, an exporter) is unreachable until a policy says otherwise.
 *
 * Needs a CNI that enforces NetworkPolicies (Calico, Cilium, …); without one, every policy is
 * silently ignored (see README, Security).
 *
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-ingress-traffic
 */
export class DefaultDenyIngress extends Construct {
  public readonly policy: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.policy = new k8s.KubeNetworkPolicy(this, 'policy', {
      metadata: { name: 'default-deny-ingress', labels: { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': 'cdk8s' } },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
  }
}
