import * as k8s from '../imports/k8s';

/**
 * Pod hardening shared by every pod we deploy.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */

/** uid and gid of the `redis` user in the official Redis image (Debian variant). */
export const REDIS_UID = 999;

/** Pod-level settings of the restricted profile, for an image that runs as `uid`. */
export function restrictedPodSecurityContext(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    // Only chown the volume when its owner is wrong: a large PVC would otherwise slow every start.
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level settings of the restricted profile, with a read-only root filesystem. */
export const RESTRICTED_CONTAINER_SECURITY_CONTEXT: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** Pod Security Standards levels, weakest first. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/**
 * Whether a container, with its pod's settings, passes the restricted profile's checks that
 * our constructs can influence (privilege escalation, non-root, capabilities, seccomp).
 */
export function meetsRestricted(pod: k8s.PodSecurityContext, container: k8s.SecurityContext): boolean {
  const runAsNonRoot = container.runAsNonRoot ?? pod.runAsNonRoot;
  const runAsUser = container.runAsUser ?? pod.runAsUser;
  const seccomp = container.seccompProfile?.type ?? pod.seccompProfile?.type;
  return (
    container.allowPrivilegeEscalation === false &&
    container.privileged !== true &&
    runAsNonRoot === true &&
    runAsUser !== 0 &&
    (seccomp === 'RuntimeDefault' || seccomp === 'Localhost') &&
    (container.capabilities?.drop ?? []).includes('ALL') &&
    (container.capabilities?.add ?? []).every((c) => c === 'NET_BIND_SERVICE')
  );
}

/** cpu and memory for one container: requests, and a memory limit equal to the request. */
export interface ContainerResources {
  /** cpu request, e.g. `"500m"`. */
  readonly cpu: string;
  /** memory request and limit, e.g. `"1Gi"`. Equal values keep the pod out of memory overcommit. */
  readonly memory: string;
  /**
   * cpu limit. Unset by default: cpu is compressible, and a limit only throttles.
   * @default - no cpu limit
   */
  readonly cpuLimit?: string;
}

export function resourceRequirements(
  resources: ContainerResources,
  extraRequests: Record<string, string> = {},
  extraLimits: Record<string, string> = {},
): k8s.ResourceRequirements {
  const quantity = k8s.Quantity.fromString;
  return {
    requests: {
      cpu: quantity(resources.cpu),
      memory: quantity(resources.memory),
      ...Object.fromEntries(Object.entries(extraRequests).map(([k, v]) => [k, quantity(v)])),
    },
    limits: {
      memory: quantity(resources.memory),
      ...(resources.cpuLimit !== undefined ? { cpu: quantity(resources.cpuLimit) } : {}),
      ...Object.fromEntries(Object.entries(extraLimits).map(([k, v]) => [k, quantity(v)])),
    },
  };
}
