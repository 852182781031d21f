import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { DefaultDenyIngress } from './default-deny-ingress';
import { DEFAULT_NAMESPACE } from './defaults';
import type { EnvironmentConfig } from './environments';
import { QueueMonitoring } from './queue-monitoring';
import { QueueRecovery } from './queue-recovery';
import { RedisAccessPolicy } from './redis-access-policy';
import { kedaAclUser, ResolvedKedaOperator, resolveKedaOperator } from './keda-operator';
import { exporterAclUser } from './redis-exporter';
import { RedisQueueStore } from './redis-queue-store';
import { ConfigError, dnsLabel } from './validation';
import { WorkQueueJob } from './work-queue-job';
import { WorkQueueScaledJob } from './work-queue-scaled-job';
import { WorkQueueNamespace } from './work-queue-namespace';

/**
 * The apply stages of one environment, in the order a campaign needs them; each is a chart
 * synthesized into its own folder `dist/<env>/<stage>/`:
 * - `namespace`: the Namespace, applied once and never part of a routine delete (deleting it
 *   deletes the queue's PersistentVolumeClaim);
 * - `queue`: Redis, its policies and the recovery CronJobs; applied before the enqueue;
 * - `workers`: the worker Jobs; applied after the enqueue, deleted to stop a campaign. A
 *   workflow in the KEDA mode has its ScaledJob here instead, which starts workers only when
 *   its queue has work, so for it the stage may also be applied first.
 * Only the `namespace` stage holds the Namespace, so `kubectl apply` / `delete` of `queue/` or
 * `workers/` never touches it, nor the data volume.
 */
export const STAGES = ['namespace', 'queue', 'workers'] as const;
export type Stage = typeof STAGES[number];

/** Stage `namespace`: the environment's Namespace, labelled for Pod Security Admission. */
export class NamespaceStage extends Chart {
  public readonly workQueueNamespace: WorkQueueNamespace;

  constructor(scope: Construct, id: string, props: { readonly name: string; readonly workers: WorkersStage }) {
    super(scope, id);
    // Enforce the strictest Pod Security level every pod passes; warn/audit stay restricted.
    this.workQueueNamespace = new WorkQueueNamespace(this, 'namespace', {
      name: props.name,
      enforce: [...props.workers.jobs, ...props.workers.scaledJobs].every((w) => w.meetsRestrictedProfile) ? 'restricted' : 'baseline',
    });
  }
}

/**
 * Stage `queue`: Redis (StatefulSet, Services, PodDisruptionBudget, ACL users), the
 * NetworkPolicies, recovery, and the metrics exporter with its monitor, rules and dashboard.
 */
export class QueueStage extends Chart {
  public readonly redis: RedisQueueStore;
  public readonly recovery: QueueRecovery;
  /** The exporter, and the monitor, rules and dashboard the environment enables. */
  public readonly monitoring?: QueueMonitoring;

  /**
   * @param keda the KEDA operator, when a workflow runs as a ScaledJob: its ACL user and its
   *   way through the NetworkPolicy
   */
  constructor(scope: Construct, id: string, environment: EnvironmentConfig, namespace: string, keda?: ResolvedKedaOperator) {
    super(scope, id, { namespace });
    // The default user may touch exactly this environment's queues; the exporter and the KEDA
    // operator log in as their own users.
    const queues = environment.workflows.map((w) => w.workflow.queue);
    const exporterUsers = environment.monitoring ? [exporterAclUser(environment.monitoring.exporter ?? {}, queues)] : [];
    const kedaUsers = keda ? [kedaAclUser(keda, kedaWorkflows(environment).map((w) => w.workflow.queue))] : [];
    this.redis = new RedisQueueStore(this, 'redis', {
      ...environment.redis,
      queues,
      users: [...(environment.redis?.users ?? []), ...exporterUsers, ...kedaUsers],
    });
    this.recovery = new QueueRecovery(this, 'recovery', {
      ...environment.recovery,
      redis: this.redis,
      workflows: environment.workflows.map((w) => w.workflow),
    });
    new RedisAccessPolicy(this, 'redis-access', { redis: this.redis, kedaOperator: keda });
    new DefaultDenyIngress(this, 'default-deny-ingress');
    if (environment.monitoring !== undefined) {
      this.monitoring = new QueueMonitoring(this, 'monitoring', {
        ...environment.monitoring,
        redis: this.redis,
        workflows: environment.workflows.map((w) => w.workflow),
        namespace,
        recoveryGraceSeconds: this.recovery.graceSeconds,
      });
    }
  }
}

/** Stage `workers`: one work-queue Job per workflow, or its KEDA ScaledJob (`scaling.kind: 'keda'`). */
export class WorkersStage extends Chart {
  public readonly jobs: readonly WorkQueueJob[];
  public readonly scaledJobs: readonly WorkQueueScaledJob[];

  constructor(scope: Construct, id: string, environment: EnvironmentConfig, namespace: string, redis: RedisQueueStore, keda?: ResolvedKedaOperator) {
    super(scope, id, { namespace });
    const jobs: WorkQueueJob[] = [];
    const scaledJobs: WorkQueueScaledJob[] = [];
    for (const deployment of environment.workflows) {
      const { scaling, ...props } = deployment;
      const id = `${deployment.workflow.name}-worker`;
      if (scaling === undefined) {
        jobs.push(new WorkQueueJob(this, id, { ...props, redis }));
      } else {
        // keda is resolved whenever a workflow has 'scaling' (WorkQueueStages).
        scaledJobs.push(new WorkQueueScaledJob(this, id, { ...props, scaling, redis, keda: keda! }));
      }
    }
    this.jobs = jobs;
    this.scaledJobs = scaledJobs;
  }
}

/**
 * Everything one environment deploys, as its three stage charts (see {@link STAGES}), built
 * in `scope` (one cdk8s App per environment; each chart becomes the folder of its id).
 */
export class WorkQueueStages {
  public readonly environment: EnvironmentConfig;
  public readonly namespaceName: string;
  public readonly namespace: NamespaceStage;
  public readonly queue: QueueStage;
  public readonly workers: WorkersStage;
  /** The KEDA operator's settings, when a workflow runs as a ScaledJob. */
  public readonly keda?: ResolvedKedaOperator;

  constructor(scope: Construct, environment: EnvironmentConfig) {
    this.namespaceName = dnsLabel(`environments.${environment.name}.namespace`, environment.namespace ?? DEFAULT_NAMESPACE);
    dnsLabel('environments[].name', environment.name);
    this.environment = environment;
    checkUnique('workflow name', environment.workflows.map((w) => w.workflow.name));
    checkUnique('queue', environment.workflows.map((w) => w.workflow.queue));

    this.keda = kedaWorkflows(environment).length > 0 ? resolveKedaOperator(`environments.${environment.name}.keda`, environment.keda) : undefined;

    this.queue = new QueueStage(scope, 'queue', environment, this.namespaceName, this.keda);
    this.workers = new WorkersStage(scope, 'workers', environment, this.namespaceName, this.queue.redis, this.keda);
    this.namespace = new NamespaceStage(scope, 'namespace', { name: this.namespaceName, workers: this.workers });
  }

  /** The stage charts in apply order. */
  get charts(): Record<Stage, Chart> {
    return { namespace: this.namespace, queue: this.queue, workers: this.workers };
  }
}

/** The workflows that run as KEDA ScaledJobs. */
function kedaWorkflows(environment: EnvironmentConfig) {
  return environment.workflows.filter((w) => w.scaling !== undefined);
}

function checkUnique(what: string, values: readonly string[]): void {
  const duplicate = values.find((v, i) => values.indexOf(v) !== i);
  if (duplicate !== undefined) {
    throw new ConfigError(`two workflows use the ${what} ${JSON.stringify(duplicate)}: each workflow needs its own ${what}`);
  }
}
