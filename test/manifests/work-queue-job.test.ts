import { Chart } from 'cdk8s';
import { DEFAULT_REDIS_IMAGE, RedisQueueStore } from '../../lib/redis-queue-store';
import { WorkQueueJob, WorkQueueJobProps } from '../../lib/work-queue-job';
import { LANDSAT, SENTINEL_2 } from '../../protocol/workflows';
import { onlyOfKind } from '../support/manifests';
import { synthChart } from '../support/synth';

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
  backoffLimit: 12,
  waitForWorkSeconds: 90,
  ttlSecondsAfterFinished: 600,
  activeDeadlineSeconds: 86_400,
  credentialsSecret: 'landsat-credentials',
  credentialsOptional: true,
  env: { AWS_NO_SIGN_REQUEST: 'YES', AWS_S3_ENDPOINT_URL: 'https://s3.example.org' },
  logLevel: 'DEBUG',
  resources: { cpu: '3', memory: '12Gi', cpuLimit: '4' },
  scratch: { path: '/scratch/ls/', sizeLimit: '80Gi' },
  tmp: { sizeLimit: '15Gi' },
  ephemeralStorageHeadroom: '512Mi',
  nodeSelector: { 'node.kubernetes.io/instance-type': 'c5.2xlarge' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ard', effect: 'NoSchedule' }],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'spot', operator: 'In', values: ['true'] }] }] } } },
  spreadAcrossNodes: true,
  imagePullSecrets: ['registry-pull'],
  security: { runAsUser: 1000, readOnlyRootFilesystem: true },
  leaseHeartbeat: { leaseSeconds: 300, maxLeaseSeconds: 43_200 },
};

describe('WorkQueueJob', () => {
  test('a batch/v1 work-queue Job: parallelism set, completions unset, ttl', () => {
    const { job } = synthJob({ parallelism: 4 });
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.spec.parallelism).toBe(4);
    expect(job.spec).not.toHaveProperty('completions');
    expect(job.spec).not.toHaveProperty('activeDeadlineSeconds');
    expect(job.spec.ttlSecondsAfterFinished).toBe(86_400);
  });

  test('failure semantics of a campaign: a fresh pod per retry, disruptions ignored, ten failures per worker', () => {
    const { job, pod } = synthJob({ parallelism: 4 });
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec.podFailurePolicy).toEqual({
      rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
    });
    expect(job.spec.backoffLimit).toBe(40);
    expect(synthJob({ parallelism: 20 }).job.spec.backoffLimit).toBe(200);
    expect(synthJob({ parallelism: 20, backoffLimit: 7 }).job.spec.backoffLimit).toBe(7);
  });

  test('autoscalers must not evict or consolidate a worker in the middle of a scene', () => {
    const { job } = synthJob();
    expect(job.spec.template.metadata.annotations).toMatchObject({
      'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
      'karpenter.sh/do-not-disrupt': 'true',
    });
  });

  test('temporary files go to a sized /tmp volume; ephemeral storage covers scratch + tmp + headroom', () => {
    const { pod, worker } = synthJob();
    expect(worker.env).toEqual(expect.arrayContaining([{ name: 'TMPDIR', value: '/tmp' }, { name: 'CPL_TMPDIR', value: '/tmp' }]));
    expect(worker.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '10Gi' } });
    expect(worker.resources.requests['ephemeral-storage']).toBe('32Gi'); // 20Gi + 10Gi + 2Gi
    expect(worker.resources.limits['ephemeral-storage']).toBe('32Gi');
    const odd = synthJob({ scratch: { sizeLimit: '1Gi' }, tmp: { sizeLimit: '512Mi' }, ephemeralStorageHeadroom: '256Mi' }).worker;
    expect(odd.resources.limits['ephemeral-storage']).toBe('1792Mi');
  });

  test('every Job carries its template hash, which also ends its name', () => {
    const { construct, job } = synthJob();
    expect(job.metadata.labels['ard-workqueue/template-hash']).toBe(construct.templateHash);
    expect(job.metadata.name).toBe(`s2-worker-${construct.templateHash}`);
  });

  test('REDIS_SERVICE_HOST comes from the Redis construct, the image from the workflow', () => {
    const { worker } = synthJob();
    expect(worker.env).toEqual([
      { name: 'REDIS_SERVICE_HOST', value: 'redis-master' },
      { name: 'LOGLEVEL', value: 'INFO' },
      { name: 'TMPDIR', value: '/tmp' },
      { name: 'CPL_TMPDIR', value: '/tmp' },
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
  });

  test('every pod passes the wait-for-work gate first: Redis image, the workflow\'s queue, a 30 min bound', () => {
    const { pod } = synthJob();
    expect(pod.initContainers).toHaveLength(1);
    expect(pod.initContainers[0]).toMatchObject({ name: 'wait-for-work', image: DEFAULT_REDIS_IMAGE, command: ['sh', '-c', expect.any(String)] });
    expect(pod.initContainers[0].env).toEqual([
      { name: 'REDIS_HOST', value: 'redis-master' },
      { name: 'REDIS_PORT', value: '6379' },
      { name: 'QUEUE', value: 'jobS2' },
      { name: 'PROCESSING', value: 'jobS2:processing' },
      { name: 'WAIT_FOR_WORK_SECONDS', value: '1800' },
    ]);
  });

  test('all props reach the manifests', () => {
    const { construct, job, pod, worker } = synthJob(ALL_PROPS);
    expect(job.metadata.name).toMatch(/^ls-worker-[0-9a-f]{10}$/);
    expect(job.spec).toMatchObject({ parallelism: 7, backoffLimit: 12, ttlSecondsAfterFinished: 600, activeDeadlineSeconds: 86_400 });
    expect(pod.initContainers[0].env).toContainEqual({ name: 'WAIT_FOR_WORK_SECONDS', value: '90' });
    expect(pod.initContainers[0].env).toContainEqual({ name: 'QUEUE', value: 'jobLS' });
    expect(worker.image).toBe('registry.example.org/ard/landsat:1.2.3');
    expect(worker.envFrom).toEqual([{ secretRef: { name: 'landsat-credentials', optional: true } }]);
    expect(worker.env).toEqual([
      { name: 'REDIS_SERVICE_HOST', value: 'redis-master' },
      { name: 'LOGLEVEL', value: 'DEBUG' },
      { name: 'TMPDIR', value: '/tmp' },
      { name: 'CPL_TMPDIR', value: '/tmp' },
      { name: 'AWS_NO_SIGN_REQUEST', value: 'YES' },
      { name: 'AWS_S3_ENDPOINT_URL', value: 'https://s3.example.org' },
      { name: 'PYTHONPATH', value: '/opt/ard-workqueue/lease-heartbeat' },
      { name: 'ARD_LEASE_SECONDS', value: '300' },
      { name: 'ARD_LEASE_MAX_SECONDS', value: '43200' },
    ]);
    expect(construct.leaseHeartbeat).toEqual({ leaseSeconds: 300, maxLeaseSeconds: 43_200 });
    expect(worker.resources).toEqual({
      requests: { 'cpu': '3', 'memory': '12Gi', 'ephemeral-storage': '97792Mi' },
      limits: { 'cpu': '4', 'memory': '12Gi', 'ephemeral-storage': '97792Mi' },
    });
    expect(worker.volumeMounts).toContainEqual({ name: 'scratch', mountPath: '/scratch/ls' });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '15Gi' } });
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
      ['waitForWorkSeconds', { waitForWorkSeconds: 60 }],
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
    [{ env: { TMPDIR: '/scratch' } }, `'workflows.s2.env.TMPDIR' is set by the construct; use 'tmp' instead`],
    [{ tmp: { sizeLimit: '10 GB' } }, `'workflows.s2.tmp.sizeLimit' must be a memory quantity such as "512Mi" or "2Gi", got "10 GB"`],
    [{ ephemeralStorageHeadroom: '-1Gi' }, `'workflows.s2.ephemeralStorageHeadroom' must be a memory quantity such as "512Mi" or "2Gi", got "-1Gi"`],
    [{ waitForWorkSeconds: -5 }, `'workflows.s2.waitForWorkSeconds' must be a non-negative integer, got -5`],
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
