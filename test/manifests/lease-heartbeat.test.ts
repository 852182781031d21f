import { readFileSync } from 'fs';
import * as path from 'path';
import { Chart } from 'cdk8s';
import { DEFAULT_LEASE_SECONDS, DEFAULT_MAX_LEASE_SECONDS, LEASE_HEARTBEAT_MOUNT_PATH } from '../../lib/lease-heartbeat';
import { LEASE_HEARTBEAT_CONFIG_MAP } from '../../lib/lease-heartbeat-contract';
import { RedisQueueStore } from '../../lib/redis-queue-store';
import { WorkQueueJob, WorkQueueJobProps } from '../../lib/work-queue-job';
import { LANDSAT, SENTINEL_2 } from '../../protocol/workflows';
import { Manifest, ofKind, onlyOfKind } from '../support/manifests';
import { synthChart } from '../support/synth';

type JobOptions = Omit<WorkQueueJobProps, 'redis' | 'workflow'>;

function synthJobs(...options: JobOptions[]): { objects: Manifest[]; jobs: WorkQueueJob[] } {
  const jobs: WorkQueueJob[] = [];
  const objects = synthChart((chart: Chart) => {
    const redis = new RedisQueueStore(chart, 'redis');
    options.forEach((o, i) => jobs.push(new WorkQueueJob(chart, `worker-${i}`, { workflow: [SENTINEL_2, LANDSAT][i], ...o, redis })));
  });
  return { objects, jobs };
}

const podOf = (job: Manifest) => job.spec.template;
const workerOf = (job: Manifest) => job.spec.template.spec.containers[0];
const source = (file: string) => readFileSync(path.join(__dirname, '..', '..', 'lib', 'lease-heartbeat', file), 'utf8');

describe('lease heartbeat in the worker pods', () => {
  test('on by default: the ConfigMap holds the repository\'s Python files, mounted read-only first on PYTHONPATH', () => {
    const { objects, jobs } = synthJobs({});
    const configMap = onlyOfKind(objects, 'ConfigMap', LEASE_HEARTBEAT_CONFIG_MAP);
    expect(configMap.data).toEqual({
      'sitecustomize.py': source('sitecustomize.py'),
      'ard_lease_heartbeat.py': source('ard_lease_heartbeat.py'),
    });
    const job = onlyOfKind(objects, 'Job');
    expect(podOf(job).spec.volumes).toContainEqual({ name: 'lease-heartbeat', configMap: { name: LEASE_HEARTBEAT_CONFIG_MAP, defaultMode: 0o444 } });
    expect(workerOf(job).volumeMounts).toContainEqual({ name: 'lease-heartbeat', mountPath: LEASE_HEARTBEAT_MOUNT_PATH, readOnly: true });
    expect(workerOf(job).env).toEqual(expect.arrayContaining([
      { name: 'PYTHONPATH', value: LEASE_HEARTBEAT_MOUNT_PATH },
      { name: 'ARD_LEASE_SECONDS', value: String(DEFAULT_LEASE_SECONDS) },
      { name: 'ARD_LEASE_MAX_SECONDS', value: String(DEFAULT_MAX_LEASE_SECONDS) },
    ]));
    expect(podOf(job).metadata.annotations['checksum/lease-heartbeat']).toMatch(/^[0-9a-f]{64}$/);
    // Only the worker loads it; the init container runs the Redis image.
    expect(podOf(job).spec.initContainers[0].volumeMounts).toBeUndefined();
    expect(jobs[0].leaseHeartbeat).toEqual({ leaseSeconds: 120, maxLeaseSeconds: 21_600 });
  });

  test('one ConfigMap serves every workflow, each with its own settings', () => {
    const { objects } = synthJobs({}, { leaseHeartbeat: { leaseSeconds: 600, maxLeaseSeconds: 36_000 } });
    expect(ofKind(objects, 'ConfigMap').filter((c) => c.metadata.name === LEASE_HEARTBEAT_CONFIG_MAP)).toHaveLength(1);
    const [s2, ls] = ofKind(objects, 'Job');
    expect(workerOf(s2).env).toContainEqual({ name: 'ARD_LEASE_SECONDS', value: '120' });
    expect(workerOf(ls).env).toEqual(expect.arrayContaining([
      { name: 'ARD_LEASE_SECONDS', value: '600' },
      { name: 'ARD_LEASE_MAX_SECONDS', value: '36000' },
    ]));
  });

  test('leaseHeartbeat: false leaves the image as it is: no ConfigMap, volume, env or annotation', () => {
    const { objects, jobs } = synthJobs({ leaseHeartbeat: false, env: { PYTHONPATH: '/opt/mine' } });
    expect(ofKind(objects, 'ConfigMap').map((c) => c.metadata.name)).not.toContain(LEASE_HEARTBEAT_CONFIG_MAP);
    const job = onlyOfKind(objects, 'Job');
    expect(Object.keys(podOf(job).metadata.annotations)).not.toContain('checksum/lease-heartbeat');
    expect(podOf(job).spec.volumes.map((v: Manifest) => v.name)).toEqual(['scratch', 'tmp']);
    expect(workerOf(job).env.map((e: Manifest) => e.name)).toEqual(['REDIS_SERVICE_HOST', 'LOGLEVEL', 'TMPDIR', 'CPL_TMPDIR', 'PYTHONPATH']);
    expect(workerOf(job).env).toContainEqual({ name: 'PYTHONPATH', value: '/opt/mine' });
    expect(jobs[0].leaseHeartbeat).toBeUndefined();
  });

  test('leaseHeartbeat: true is the default', () => {
    const on = synthJobs({ leaseHeartbeat: true });
    const byDefault = synthJobs({});
    expect(onlyOfKind(on.objects, 'Job')).toEqual(onlyOfKind(byDefault.objects, 'Job'));
  });

  test('a changed heartbeat file changes the Job name (new pods run new code)', () => {
    // The checksum annotation is part of the hashed pod template.
    const job = onlyOfKind(synthJobs({}).objects, 'Job');
    const off = onlyOfKind(synthJobs({ leaseHeartbeat: false }).objects, 'Job');
    expect(job.metadata.name).not.toBe(off.metadata.name);
    expect(podOf(job).metadata.annotations).toMatchObject({ 'checksum/lease-heartbeat': expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  test.each([
    [{ leaseHeartbeat: { leaseSeconds: 5 } }, `'workflows.s2.leaseHeartbeat.leaseSeconds' must be an integer >= 10, got 5`],
    [{ leaseHeartbeat: { leaseSeconds: 30.5 } }, `'workflows.s2.leaseHeartbeat.leaseSeconds' must be an integer >= 10, got 30.5`],
    [{ leaseHeartbeat: { maxLeaseSeconds: 60 } }, `'workflows.s2.leaseHeartbeat.maxLeaseSeconds' must be an integer >= leaseSeconds (120), got 60`],
    [{ leaseHeartbeat: { leaseSeconds: 300, maxLeaseSeconds: 299 } }, `'workflows.s2.leaseHeartbeat.maxLeaseSeconds' must be an integer >= leaseSeconds (300), got 299`],
    [{ env: { PYTHONPATH: '/opt/mine' } }, `'workflows.s2.env.PYTHONPATH' is set by the lease heartbeat; set 'leaseHeartbeat: false' to set it yourself`],
    [{ env: { ARD_LEASE_SECONDS: '30' } }, `'workflows.s2.env.ARD_LEASE_SECONDS' is set by the lease heartbeat; set 'leaseHeartbeat: false' to set it yourself`],
  ])('refuses %j', (options, message) => {
    expect(() => synthJobs(options)).toThrow(message);
  });
});
