import { Chart } from 'cdk8s';
import { RedisQueueStore } from '../../lib/redis-queue-store';
import { WorkQueueJob, WorkQueueJobProps } from '../../lib/work-queue-job';
import { LANDSAT, SENTINEL_2 } from '../../protocol/workflows';
import { onlyOfKind, synthChart } from '../support/manifests';

type JobOptions = Omit<WorkQueueJobProps, 'redis'>;

function synthJob(options: Partial<JobOptions> = {}) {
  let construct: WorkQueueJob | undefined;
  const objects = synthChart((chart: Chart) => {
    const redis = new RedisQueueStore(chart, 'redis');
    construct = new WorkQueueJob(chart, 'worker', { workflow: SENTINEL_2, ...options, redis });
  });
  const job = onlyOfKind(objects, 'Job');
  return { construct: construct!, job, pod: job.spec.template.spec, worker: job.spec.template.spec.containers[0] };
}

// Every prop set, so that a new prop cannot go untested: the type fails to compile without it.
const ALL_PROPS: Required<JobOptions> = {
  workflow: LANDSAT,
  parallelism: 7,
  image: 'registry.example.org/ard/landsat:1.2.3',
  restartPolicy: 'Never',
  backoffLimit: 12,
  ttlSecondsAfterFinished: 600,
  activeDeadlineSeconds: 86_400,
  credentialsSecret: 'landsat-credentials',
  credentialsOptional: true,
  env: { AWS_NO_SIGN_REQUEST: 'YES', AWS_S3_ENDPOINT_URL: 'https://s3.example.org' },
  logLevel: 'DEBUG',
  resources: { cpu: '3', memory: '12Gi', cpuLimit: '4' },
  scratch: { path: '/scratch/ls/', sizeLimit: '80Gi' },
  nodeSelector: { 'node.kubernetes.io/instance-type': 'c5.2xlarge' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ard', effect: 'NoSchedule' }],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'spot', operator: 'In', values: ['true'] }] }] } } },
  spreadAcrossNodes: true,
  imagePullSecrets: ['registry-pull'],
  security: { runAsUser: 1000, readOnlyRootFilesystem: true },
  leaseHeartbeat: { leaseSeconds: 300, maxLeaseSeconds: 43_200 },
};

describe('WorkQueueJob', () => {
  test('a batch/v1 work-queue Job: parallelism set, completions unset, OnFailure, ttl, backoff', () => {
    const { job, pod } = synthJob({ parallelism: 4 });
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.spec.parallelism).toBe(4);
    expect(job.spec).not.toHaveProperty('completions');
    expect(job.spec).not.toHaveProperty('activeDeadlineSeconds');
    expect(job.spec.backoffLimit).toBe(100);
    expect(job.spec.ttlSecondsAfterFinished).toBe(86_400);
    expect(pod.restartPolicy).toBe('OnFailure');
  });

  test('REDIS_SERVICE_HOST comes from the Redis construct, the image from the workflow', () => {
    const { worker } = synthJob();
    expect(worker.env).toEqual([
      { name: 'REDIS_SERVICE_HOST', value: 'redis-master' },
      { name: 'LOGLEVEL', value: 'INFO' },
      { name: 'PYTHONPATH', value: '/opt/ard-workqueue/lease-heartbeat' },
      { name: 'ARD_LEASE_SECONDS', value: '120' },
      { name: 'ARD_LEASE_MAX_SECONDS', value: '21600' },
    ]);
    expect(worker.image).toBe('satapps/ard-workflow-s2:0.4.0');
  });

  test('credentials only by reference to a Secret created out of band', () => {
    const { worker } = synthJob();
    expect(worker.envFrom).toEqual([{ secretRef: { name: 'ard-credentials', optional: false } }]);
  });

  test('scratch storage is mounted where the items\' inter_dir points, with a size limit', () => {
    const { pod, worker } = synthJob();
    expect(worker.volumeMounts).toContainEqual({ name: 'scratch', mountPath: '/data/intermediate' });
    expect(pod.volumes).toContainEqual({ name: 'scratch', emptyDir: { sizeLimit: '20Gi' } });
    expect(worker.resources.requests['ephemeral-storage']).toBe('20Gi');
  });

  test('an init container waits until Redis answers PING', () => {
    const { pod } = synthJob();
    expect(pod.initContainers).toHaveLength(1);
    expect(pod.initContainers[0].name).toBe('wait-for-redis');
    expect(pod.initContainers[0].command.join(' ')).toContain('redis-cli -h redis-master -p 6379 ping)" = PONG');
  });

  test('all props reach the manifests', () => {
    const { construct, job, pod, worker } = synthJob(ALL_PROPS);
    expect(job.metadata.name).toMatch(/^ls-worker-[0-9a-f]{10}$/);
    expect(job.spec).toMatchObject({ parallelism: 7, backoffLimit: 12, ttlSecondsAfterFinished: 600, activeDeadlineSeconds: 86_400 });
    expect(pod.restartPolicy).toBe('Never');
    expect(worker.image).toBe('registry.example.org/ard/landsat:1.2.3');
    expect(worker.envFrom).toEqual([{ secretRef: { name: 'landsat-credentials', optional: true } }]);
    expect(worker.env).toEqual([
      { name: 'REDIS_SERVICE_HOST', value: 'redis-master' },
      { name: 'LOGLEVEL', value: 'DEBUG' },
      { name: 'AWS_NO_SIGN_REQUEST', value: 'YES' },
      { name: 'AWS_S3_ENDPOINT_URL', value: 'https://s3.example.org' },
      { name: 'PYTHONPATH', value: '/opt/ard-workqueue/lease-heartbeat' },
      { name: 'ARD_LEASE_SECONDS', value: '300' },
      { name: 'ARD_LEASE_MAX_SECONDS', value: '43200' },
    ]);
    expect(construct.leaseHeartbeat).toEqual({ leaseSeconds: 300, maxLeaseSeconds: 43_200 });
    expect(worker.resources).toEqual({
      requests: { 'cpu': '3', 'memory': '12Gi', 'ephemeral-storage': '80Gi' },
      limits: { cpu: '4', memory: '12Gi' },
    });
    expect(worker.volumeMounts).toContainEqual({ name: 'scratch', mountPath: '/scratch/ls' });
    expect(pod.nodeSelector).toEqual(ALL_PROPS.nodeSelector);
    expect(pod.tolerations).toEqual(ALL_PROPS.tolerations);
    expect(pod.affinity).toEqual(ALL_PROPS.affinity); // explicit affinity wins over spreadAcrossNodes
    expect(pod.imagePullSecrets).toEqual([{ name: 'registry-pull' }]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    expect(worker.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(construct.meetsRestrictedProfile).toBe(true);
  });

  test('spreadAcrossNodes prefers one worker per node', () => {
    const { pod } = synthJob({ spreadAcrossNodes: true });
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toEqual([{
      weight: 100,
      podAffinityTerm: {
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: { matchLabels: { 'ard-workqueue/workflow': 's2', 'app.kubernetes.io/instance': 's2' } },
      },
    }]);
  });

  test('by default workers are hardened except running as the image user (root)', () => {
    const { construct, pod, worker } = synthJob();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toEqual({ seccompProfile: { type: 'RuntimeDefault' } });
    expect(worker.securityContext).toEqual({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(construct.meetsRestrictedProfile).toBe(false);
  });

  describe('name: a hash of the pod template, so a changed template never hits immutable fields', () => {
    const nameOf = (options: Partial<JobOptions>) => synthJob(options).job.metadata.name;

    test('is stable for the same configuration', () => {
      expect(nameOf({})).toBe(nameOf({}));
      expect(nameOf({})).toMatch(/^s2-worker-[0-9a-f]{10}$/);
    });

    test.each([
      ['image', { image: 'satapps/ard-workflow-s2:0.5.0' }],
      ['env', { env: { AWS_NO_SIGN_REQUEST: 'YES' } }],
      ['resources', { resources: { cpu: '2', memory: '4Gi' } }],
      ['scratch', { scratch: { sizeLimit: '30Gi' } }],
      ['leaseHeartbeat', { leaseHeartbeat: { leaseSeconds: 300 } }],
    ])('changes when the pod template changes (%s)', (_what, options) => {
      expect(nameOf(options)).not.toBe(nameOf({}));
    });

    test.each([
      ['parallelism', { parallelism: 30 }],
      ['backoffLimit', { backoffLimit: 5 }],
      ['ttlSecondsAfterFinished', { ttlSecondsAfterFinished: 60 }],
      ['activeDeadlineSeconds', { activeDeadlineSeconds: 3600 }],
    ])('stays when only a mutable Job field changes (%s), so kubectl apply patches the running Job', (_what, options) => {
      expect(nameOf(options)).toBe(nameOf({}));
    });
  });

  test.each([
    [{ parallelism: 0 }, `'workflows.s2.parallelism' must be a positive integer, got 0`],
    [{ parallelism: -3 }, `'workflows.s2.parallelism' must be a positive integer, got -3`],
    [{ parallelism: 2.5 }, `'workflows.s2.parallelism' must be a positive integer, got 2.5`],
    [{ image: 'satapps/ard-workflow-s2' }, `'workflows.s2.image' must be pinned by a tag other than 'latest' (e.g. "satapps/ard-workflow-s2:0.4.0"), got "satapps/ard-workflow-s2"`],
    [{ image: 'satapps/ard-workflow-s2:latest' }, `'workflows.s2.image' must be pinned by a tag other than 'latest' (e.g. "satapps/ard-workflow-s2:0.4.0"), got "satapps/ard-workflow-s2:latest"`],
    [{ image: 'registry:5000/ard-workflow-s2' }, `'workflows.s2.image' must be pinned by a tag other than 'latest' (e.g. "satapps/ard-workflow-s2:0.4.0"), got "registry:5000/ard-workflow-s2"`],
    [{ scratch: { path: 'data/intermediate/' } }, `'workflows.s2.scratch.path' must be an absolute path without '..', got "data/intermediate/"`],
    [{ scratch: { sizeLimit: 'big' } }, `'workflows.s2.scratch.sizeLimit' must be a memory quantity such as "512Mi" or "2Gi", got "big"`],
    [{ credentialsSecret: 'AWS_Creds' }, `'workflows.s2.credentialsSecret' must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "AWS_Creds"`],
    [{ workflow: { ...SENTINEL_2, name: 'Sentinel_2' } }, `'workflow.name' must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 40 characters), got "Sentinel_2"`],
    [{ env: { AWS_SECRET_ACCESS_KEY: 'abc' } }, `'workflows.s2.env.AWS_SECRET_ACCESS_KEY' looks like a credential and must not be a literal value: put it in the Secret named by 'credentialsSecret' (see README, "Credentials")`],
    [{ env: { COPERNICUS_PWD: 'abc' } }, `'workflows.s2.env.COPERNICUS_PWD' looks like a credential and must not be a literal value: put it in the Secret named by 'credentialsSecret' (see README, "Credentials")`],
    [{ env: { REDIS_SERVICE_HOST: 'elsewhere' } }, `'workflows.s2.env.REDIS_SERVICE_HOST' is set by the construct; use the 'redis' prop instead`],
    [{ restartPolicy: 'Always' as any }, `'workflows.s2.restartPolicy' must be one of "OnFailure", "Never", got "Always"`],
    [{ backoffLimit: -1 }, `'workflows.s2.backoffLimit' must be a non-negative integer, got -1`],
    [{ activeDeadlineSeconds: 0 }, `'workflows.s2.activeDeadlineSeconds' must be a positive integer, got 0`],
  ])('refuses %j', (options, message) => {
    expect(() => synthJob(options as Partial<JobOptions>)).toThrow(message);
  });
});

describe('the Redis image and the worker Jobs', () => {
  const jobWith = (redisProps: { image?: string; clientImage?: string }) => onlyOfKind(synthChart((chart: Chart) => {
    new WorkQueueJob(chart, 'worker', { workflow: SENTINEL_2, redis: new RedisQueueStore(chart, 'redis', redisProps) });
  }), 'Job');

  test('patching the Redis server (redis.image) keeps the worker Job; its gates use redis.clientImage', () => {
    const before = jobWith({});
    expect(jobWith({ image: 'redis:7.2.12-bookworm' }).metadata.name).toBe(before.metadata.name);
    const moved = jobWith({ clientImage: 'redis:7.2.12-bookworm' });
    expect(moved.metadata.name).not.toBe(before.metadata.name);
    expect(moved.spec.template.spec.initContainers[0].image).toBe('redis:7.2.12-bookworm');
  });
});
