import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from './environments';
import { QueueMonitoring } from './queue-monitoring';
import { DEFAULT_NAMESPACE } from './defaults';
import { QueueRecovery } from './queue-recovery';
import { DefaultDenyIngress } from './default-deny-ingress';
import { RedisAccessPolicy } from './redis-access-policy';
import { exporterAclUser } from './redis-exporter';
import { RedisQueueStore } from './redis-queue-store';
import { ConfigError, dnsLabel } from './validation';
import { WorkQueueJob } from './work-queue-job';
import { WorkQueueNamespace } from './work-queue-namespace';

/**
 * Everything one environment deploys: its namespace (first in the output, so a single
 * `kubectl apply -f dist/<env>/` creates it before the rest), the Redis queue store, one
 * work-queue Job and one recovery CronJob per workflow, the NetworkPolicy for Redis, and a
 * default-deny ingress policy for everything else.
 */
export class WorkQueueChart extends Chart {
  public readonly environment: EnvironmentConfig;
  public readonly workQueueNamespace: WorkQueueNamespace;
  public readonly redis: RedisQueueStore;
  public readonly jobs: readonly WorkQueueJob[];
  public readonly recovery: QueueRecovery;
  /** The exporter, and the monitor, rules and dashboard the environment enables. */
  public readonly monitoring?: QueueMonitoring;

  constructor(scope: Construct, id: string, environment: EnvironmentConfig) {
    const namespaceName = dnsLabel(`environments.${environment.name}.namespace`, environment.namespace ?? DEFAULT_NAMESPACE);
    super(scope, id, { namespace: namespaceName });
    dnsLabel('environments[].name', environment.name);
    this.environment = environment;
    checkUnique('workflow name', environment.workflows.map((w) => w.workflow.name));
    checkUnique('queue', environment.workflows.map((w) => w.workflow.queue));

    // The default user may touch exactly this environment's queues; the exporter logs in as its own user.
    const queues = environment.workflows.map((w) => w.workflow.queue);
    const exporterUsers = environment.monitoring ? [exporterAclUser(environment.monitoring.exporter ?? {}, queues)] : [];
    this.redis = new RedisQueueStore(this, 'redis', {
      ...environment.redis,
      queues,
      users: [...(environment.redis?.users ?? []), ...exporterUsers],
    });
    this.jobs = environment.workflows.map((deployment) => new WorkQueueJob(this, `${deployment.workflow.name}-worker`, {
      ...deployment,
      redis: this.redis,
    }));
    this.recovery = new QueueRecovery(this, 'recovery', {
      ...environment.recovery,
      redis: this.redis,
      workflows: environment.workflows.map((w) => w.workflow),
    });
    new RedisAccessPolicy(this, 'redis-access', { redis: this.redis });
    new DefaultDenyIngress(this, 'default-deny-ingress');
    if (environment.monitoring !== undefined) {
      this.monitoring = new QueueMonitoring(this, 'monitoring', {
        ...environment.monitoring,
        redis: this.redis,
        workflows: environment.workflows.map((w) => w.workflow),
        namespace: namespaceName,
        recoveryGraceSeconds: this.recovery.graceSeconds,
      });
    }

    // Enforce the strictest Pod Security level every pod passes; warn/audit stay restricted.
    this.workQueueNamespace = new WorkQueueNamespace(this, 'namespace', {
      name: namespaceName,
      enforce: this.jobs.every((job) => job.meetsRestrictedProfile) ? 'restricted' : 'baseline',
    });
    // A Namespace is cluster-scoped: it takes no metadata.namespace from the chart.
    this.workQueueNamespace.namespace.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    for (const apiObject of this.node.findAll().filter(ApiObject.isApiObject)) {
      if (apiObject !== this.workQueueNamespace.namespace) apiObject.addDependency(this.workQueueNamespace.namespace);
    }
  }
}

function checkUnique(what: string, values: readonly string[]): void {
  const duplicate = values.find((v, i) => values.indexOf(v) !== i);
  if (duplicate !== undefined) {
    throw new ConfigError(`two workflows use the ${what} ${JSON.stringify(duplicate)}: each workflow needs its own ${what}`);
  }
}
