/**
 * What the KEDA operator needs from the queue stage, when a workflow of the environment runs
 * as a KEDA ScaledJob: a Redis ACL user for its `redis` scaler, and a way in through the
 * Redis NetworkPolicy. Pure, so the queue stage (ACL, policy) and the workers stage
 * (TriggerAuthentication) resolve the same settings.
 *
 * @see https://keda.sh/docs/latest/scalers/redis-lists/
 */
import {
  DEFAULT_KEDA_ACL_USER, DEFAULT_KEDA_OPERATOR_NAMESPACE, DEFAULT_KEDA_OPERATOR_POD_LABELS, DEFAULT_KEDA_PASSWORD_SECRET,
} from './defaults';
import { aclUserName, PASSWORD_KEY, RedisAclUser, SecretKeyReference } from './redis-acl';
import { ConfigError, dnsLabel } from './validation';

/**
 * The Redis commands of KEDA's `redis` scaler (kedacore/keda pkg/scalers/redis_scaler.go,
 * go-redis v9): `PING` when it connects, then at every poll one `EVAL` of a script that runs
 * `TYPE` and, for a list, `LLEN` on `listName`. (`HELLO` is open to every user; go-redis's
 * `CLIENT SETINFO` is optional: go-redis ignores its refusal.) The default user may not run
 * `EVAL`, and must not: so the scaler logs in as its own user.
 */
export const KEDA_REDIS_SCALER_COMMANDS = ['ping', 'eval', 'type', 'llen'] as const;

/** The KEDA operator as the queue stage sees it. Used only when a workflow has `scaling: { kind: 'keda' }`. */
export interface KedaOperatorProps {
  /**
   * Namespace the KEDA operator runs in: its pods may connect to Redis.
   * @default DEFAULT_KEDA_OPERATOR_NAMESPACE ("keda")
   */
  readonly namespace?: string;
  /**
   * Labels of the KEDA operator's pods.
   * @default DEFAULT_KEDA_OPERATOR_POD_LABELS ({ app: 'keda-operator' })
   */
  readonly podLabels?: Readonly<Record<string, string>>;
  /**
   * Redis ACL user the scaler logs in as: {@link KEDA_REDIS_SCALER_COMMANDS} on the
   * ScaledJob workflows' pending lists, nothing else.
   * @default DEFAULT_KEDA_ACL_USER ("keda")
   */
  readonly aclUser?: string;
  /**
   * Secret, in the environment's namespace, with that user's password; created out of band
   * (README, Security). Redis reads it at start-up, KEDA through a TriggerAuthentication.
   * @default - DEFAULT_KEDA_PASSWORD_SECRET ("redis-keda"), key "password"
   */
  readonly passwordSecret?: SecretKeyReference;
}

/** {@link KedaOperatorProps}, resolved and validated. */
export interface ResolvedKedaOperator {
  readonly namespace: string;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly aclUser: string;
  readonly passwordSecret: Required<SecretKeyReference>;
}

/** Resolves the environment's `keda` settings; `field` names them in errors. */
export function resolveKedaOperator(field: string, props: KedaOperatorProps = {}): ResolvedKedaOperator {
  const aclUser = aclUserName(`${field}.aclUser`, props.aclUser ?? DEFAULT_KEDA_ACL_USER);
  const podLabels = props.podLabels ?? DEFAULT_KEDA_OPERATOR_POD_LABELS;
  if (Object.keys(podLabels).length === 0) {
    throw new ConfigError(`'${field}.podLabels' must select the KEDA operator's pods by at least one label, got {}`);
  }
  return {
    namespace: dnsLabel(`${field}.namespace`, props.namespace ?? DEFAULT_KEDA_OPERATOR_NAMESPACE),
    podLabels,
    aclUser,
    passwordSecret: {
      name: dnsLabel(`${field}.passwordSecret.name`, props.passwordSecret?.name ?? DEFAULT_KEDA_PASSWORD_SECRET),
      key: props.passwordSecret?.key ?? PASSWORD_KEY,
    },
  };
}

/** The scaler's ACL user: its commands on the pending lists of `queues`, nothing else. */
export function kedaAclUser(keda: ResolvedKedaOperator, queues: readonly string[]): RedisAclUser {
  return {
    name: keda.aclUser,
    rules: [...queues.map((q) => `~${q}`), ...KEDA_REDIS_SCALER_COMMANDS.map((c) => `+${c}`)],
    passwordSecret: keda.passwordSecret,
  };
}
