import { Chart } from 'cdk8s';
import { KedaOperatorProps, resolveKedaOperator } from '../../lib/keda-operator';
import { RedisQueueStore } from '../../lib/redis-queue-store';
import { WorkQueueJob } from '../../lib/work-queue-job';
import { KedaScalingProps, WorkQueueScaledJob, WorkQueueScaledJobProps } from '../../lib/work-queue-scaled-job';
import { ENVIRONMENTS, WorkflowDeployment } from '../../lib/environments';
import { LANDSAT, SENTINEL_2 } from '../../protocol/workflows';
import { Manifest, onlyOfKind } from '../support/manifests';
import { synthChart, synthEnvironment } from '../support/synth';
import { validateManifest } from '../support/schema';

type Options = Omit<WorkQueueScaledJobProps, 'redis' | 'keda' | 'scaling'> & { scaling?: Partial<KedaScalingProps> | Record<string, unknown>; parallelism?: number };

function synthScaledJob(options: Partial<Options> = {}, keda: KedaOperatorProps = {}) {
  let construct: WorkQueueScaledJob | undefined;
  const objects = synthChart((chart: Chart) => {
    const redis = new RedisQueueStore(chart, 'redis');
    construct = new WorkQueueScaledJob(chart, 'worker', {
      workflow: SENTINEL_2,
      ...options,
      scaling: { kind: 'keda', ...options.scaling } as KedaScalingProps,
      redis,
      keda: resolveKedaOperator('keda', keda),
    });
  });
  return { construct: construct!, objects, scaledJob: onlyOfKind(objects, 'ScaledJob'), auth: onlyOfKind(objects, 'TriggerAuthentication') };
}

// Every prop set, so that a new one cannot go untested: the types fail to compile without it.
const ALL_SCALING: Required<KedaScalingProps> = {
  kind: 'keda',
  maxReplicaCount: 40,
  pollingInterval: 15,
  scalingStrategy: 'eager',
  successfulJobsHistoryLimit: 3,
  failedJobsHistoryLimit: 7,
  listLength: 5,
  activationListLength: 2,
};
const ALL_KEDA: Required<KedaOperatorProps> = {
  namespace: 'autoscaling',
  podLabels: { 'app.kubernetes.io/name': 'keda-operator' },
  aclUser: 'scaler',
  passwordSecret: { name: 'scaler-redis', key: 'pw' },
};

describe('WorkQueueScaledJob', () => {
  test('defaults: one worker a Job, up to 10 Jobs, accurate, a redis trigger on the queue through redis-master', () => {
    const { construct, scaledJob, auth } = synthScaledJob();
    expect(scaledJob.metadata.name).toBe('s2-worker');
    expect(scaledJob.apiVersion).toBe('keda.sh/v1alpha1');
    const { template, ...jobSpec } = scaledJob.spec.jobTargetRef;
    expect(jobSpec).toEqual({
      parallelism: 1,
      backoffLimit: 10,
      podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
      ttlSecondsAfterFinished: 86_400,
    });
    expect(template.spec.containers[0].image).toBe(SENTINEL_2.image);
    const { triggers, ...spec } = scaledJob.spec;
    delete spec.jobTargetRef;
    expect(spec).toEqual({
      pollingInterval: 30, minReplicaCount: 0, maxReplicaCount: 10, successfulJobsHistoryLimit: 10, failedJobsHistoryLimit: 10,
      rollout: { strategy: 'gradual' }, scalingStrategy: { strategy: 'accurate' },
    });
    expect(triggers).toEqual([{
      type: 'redis',
      name: 'queue',
      metadata: { address: 'redis-master.test.svc.cluster.local:6379', listName: 'jobS2', listLength: '1', activationListLength: '0', username: 'keda' },
      authenticationRef: { name: 's2-worker-redis' },
    }]);
    expect(auth.metadata.name).toBe('s2-worker-redis');
    expect(auth.spec).toEqual({ secretTargetRef: [{ parameter: 'password', name: 'redis-keda', key: 'password' }] });
    expect(construct.redisAddress).toBe('redis-master.test.svc.cluster.local:6379');
  });

  test('all props', () => {
    const { scaledJob, auth } = synthScaledJob({
      workflow: LANDSAT, scaling: ALL_SCALING, backoffLimit: 3, ttlSecondsAfterFinished: 60, activeDeadlineSeconds: 7200,
    }, ALL_KEDA);
    expect(scaledJob.metadata.name).toBe('ls-worker');
    expect(scaledJob.spec).toMatchObject({
      pollingInterval: 15, maxReplicaCount: 40, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 7, scalingStrategy: { strategy: 'eager' },
      jobTargetRef: { parallelism: 1, backoffLimit: 3, ttlSecondsAfterFinished: 60, activeDeadlineSeconds: 7200 },
    });
    expect(scaledJob.spec.triggers[0].metadata).toEqual({
      address: 'redis-master.test.svc.cluster.local:6379', listName: LANDSAT.queue, listLength: '5', activationListLength: '2', username: 'scaler',
    });
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'password', name: 'scaler-redis', key: 'pw' }]);
    expect(() => validateManifest(scaledJob)).not.toThrow();
    expect(() => validateManifest(auth)).not.toThrow();
  });

  test.each<[string, Partial<Options>, KedaOperatorProps, string]>([
    ['maxReplicaCount 0', { scaling: { maxReplicaCount: 0 } }, {}, "'workflows.s2.scaling.maxReplicaCount' must be a positive integer, got 0"],
    ['pollingInterval 1.5', { scaling: { pollingInterval: 1.5 } }, {}, "'workflows.s2.scaling.pollingInterval' must be a positive integer, got 1.5"],
    ['strategy custom', { scaling: { scalingStrategy: 'custom' } }, {},
      `'workflows.s2.scaling.scalingStrategy' must be one of "default", "accurate", "eager", got "custom"`],
    ['negative history', { scaling: { successfulJobsHistoryLimit: -1 } }, {}, "'workflows.s2.scaling.successfulJobsHistoryLimit' must be a non-negative integer, got -1"],
    ['failed history', { scaling: { failedJobsHistoryLimit: -2 } }, {}, "'workflows.s2.scaling.failedJobsHistoryLimit' must be a non-negative integer, got -2"],
    ['listLength 0', { scaling: { listLength: 0 } }, {}, "'workflows.s2.scaling.listLength' must be a positive integer, got 0"],
    ['activation -1', { scaling: { activationListLength: -1 } }, {}, "'workflows.s2.scaling.activationListLength' must be a non-negative integer, got -1"],
    ['kind hpa', { scaling: { kind: 'hpa' } }, {}, `'workflows.s2.scaling.kind' must be one of "keda", got "hpa"`],
    ['parallelism', { parallelism: 4 }, {},
      `'workflows.s2.parallelism' does not apply with 'scaling.kind' "keda" (each Job KEDA creates runs one worker): set 'scaling.maxReplicaCount' instead`],
    ['backoffLimit', { backoffLimit: -1 }, {}, "'workflows.s2.backoffLimit' must be a non-negative integer, got -1"],
    ['ACL user default', {}, { aclUser: 'default' }, `'keda.aclUser' must be lower-case letters, digits, '-' and '_' and not "default", got "default"`],
    ['no pod labels', {}, { podLabels: {} }, "'keda.podLabels' must select the KEDA operator's pods by at least one label, got {}"],
    ['namespace', {}, { namespace: 'KEDA' }, "'keda.namespace' must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got \"KEDA\""],
  ])('refuses %s', (_what, options, keda, message) => {
    expect(() => synthScaledJob(options, keda)).toThrow(message);
  });
});

describe('one worker pod in both modes', () => {
  const deployment = (e: string) => ENVIRONMENTS.find((x) => x.name === e)!.workflows[0];
  const templateOf = (objects: Manifest[], kind: string) =>
    kind === 'Job' ? onlyOfKind(objects, 'Job').spec.template : onlyOfKind(objects, 'ScaledJob').spec.jobTargetRef.template;

  test.each(['dev', 'prod', 'keda'])('the %s workflow as a Job and as a ScaledJob: the same pod template', (env) => {
    // The deployment without what differs between modes.
    const pod: WorkflowDeployment = { ...deployment(env), scaling: undefined, parallelism: undefined };
    const base = { ...ENVIRONMENTS.find((x) => x.name === env)!, name: 'cmp', namespace: 'ard-cmp' };
    const asJob = synthEnvironment({ ...base, workflows: [pod] }).objects;
    const asScaledJob = synthEnvironment({ ...base, workflows: [{ ...pod, scaling: { kind: 'keda' } }] }).objects;
    expect(templateOf(asScaledJob, 'ScaledJob')).toEqual(templateOf(asJob, 'Job'));
    // and the comparison can fail: another image is another template
    const other = synthEnvironment({ ...base, workflows: [{ ...pod, image: 'satapps/ard-workflow-s2:9.9.9', scaling: { kind: 'keda' } }] }).objects;
    expect(templateOf(other, 'ScaledJob')).not.toEqual(templateOf(asJob, 'Job'));
  });

  test('the WorkerPod of both constructs is built by the same class', () => {
    synthChart((chart) => {
      const redis = new RedisQueueStore(chart, 'redis');
      const job = new WorkQueueJob(chart, 'job', { workflow: SENTINEL_2, redis });
      const scaled = new WorkQueueScaledJob(chart, 'scaled', { workflow: LANDSAT, redis, scaling: { kind: 'keda' }, keda: resolveKedaOperator('keda') });
      expect(scaled.pod.constructor).toBe(job.pod.constructor);
    });
  });
});

describe('the keda environment', () => {
  const { objects } = synthEnvironment(ENVIRONMENTS.find((e) => e.name === 'keda')!);

  test('the Redis NetworkPolicy admits the KEDA operator on 6379, and the ACL defines its user', () => {
    const policy = onlyOfKind(objects, 'NetworkPolicy', 'redis-access');
    expect(policy.spec.ingress).toEqual([{
      from: [
        { podSelector: { matchLabels: { 'ard-workqueue/redis-client': 'true' } } },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } }, podSelector: { matchLabels: { app: 'keda-operator' } } },
      ],
      ports: [{ protocol: 'TCP', port: 6379 }],
    }]);
    const acl: string = onlyOfKind(objects, 'ConfigMap', 'redis-config').data['users.acl'];
    expect(acl).toContain('user keda on resetpass resetkeys resetchannels -@all ~jobS2 +ping +eval +type +llen\n');
  });

  test('stages apply in any order: no stage holds a Job or Pod, and the ScaledJob starts none on an empty queue', () => {
    const { byStage } = synthEnvironment(ENVIRONMENTS.find((e) => e.name === 'keda')!);
    for (const stage of Object.values(byStage)) expect(stage.filter((o) => o.kind === 'Job' || o.kind === 'Pod')).toEqual([]);
    const scaledJob = onlyOfKind(byStage.workers, 'ScaledJob');
    expect(scaledJob.spec.minReplicaCount).toBe(0);
    expect(Number(scaledJob.spec.triggers[0].metadata.activationListLength)).toBe(0);
  });

  test('environments without a ScaledJob neither admit the operator nor define its user', () => {
    for (const env of ENVIRONMENTS.filter((e) => e.name !== 'keda')) {
      const others = synthEnvironment(env).objects;
      expect(onlyOfKind(others, 'NetworkPolicy', 'redis-access').spec.ingress[0].from).toHaveLength(1);
      expect(onlyOfKind(others, 'ConfigMap', 'redis-config').data['users.acl']).not.toContain('user keda');
      expect(others.filter((o) => o.kind === 'ScaledJob' || o.kind === 'TriggerAuthentication')).toEqual([]);
    }
  });
});
