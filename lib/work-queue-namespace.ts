import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { PART_OF } from './labels';
import { DEFAULT_NAMESPACE } from './defaults';
import { PodSecurityLevel } from './pod-security';
import { dnsLabel } from './validation';

export interface WorkQueueNamespaceProps {
  /** @default DEFAULT_NAMESPACE ("ard") */
  readonly name?: string;
  /**
   * Pod Security Standard the namespace enforces. `warn` and `audit` are always `restricted`,
   * so anything short of it shows up in `kubectl apply` output and the audit log.
   * @default 'restricted'
   */
  readonly enforce?: PodSecurityLevel;
}

/**
 * The namespace of one environment, labelled for Pod Security Admission.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-admission/
 */
export class WorkQueueNamespace extends Construct {
  public readonly name: string;
  public readonly enforce: PodSecurityLevel;
  public readonly namespace: k8s.KubeNamespace;

  constructor(scope: Construct, id: string, props: WorkQueueNamespaceProps = {}) {
    super(scope, id);
    this.name = dnsLabel('namespace', props.name ?? DEFAULT_NAMESPACE);
    this.enforce = props.enforce ?? 'restricted';
    // Pinned to the version of the imported API, so a cluster upgrade cannot tighten it unseen.
    const version = 'v1.27';
    this.namespace = new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: this.name,
        labels: {
          'app.kubernetes.io/part-of': PART_OF,
          'app.kubernetes.io/managed-by': 'cdk8s',
          'pod-security.kubernetes.io/enforce': this.enforce,
          'pod-security.kubernetes.io/enforce-version': version,
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/warn-version': version,
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/audit-version': version,
        },
      },
    });
  }
}
