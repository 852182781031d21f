import { DEV, ENVIRONMENTS, EnvironmentConfig, PROD } from '../../lib/environments';
import { LANDSAT, SENTINEL_1, SENTINEL_2 } from '../../protocol/workflows';
import { ofKind, onlyOfKind } from '../support/manifests';
import { synthEnvironment } from '../support/synth';

describe('WorkQueueStages', () => {
  test.each(ENVIRONMENTS.map((e) => [e.name, e] as const))('%s: the Namespace comes first and everything else is in it', (_name, environment) => {
    const { objects } = synthEnvironment(environment);
    expect(objects[0].kind).toBe('Namespace');
    expect(objects[0].metadata).not.toHaveProperty('namespace');
    for (const object of objects.slice(1)) expect(object.metadata.namespace).toBe(objects[0].metadata.name);
  });

  test.each(ENVIRONMENTS.map((e) => [e.name, e] as const))('%s: three stages; the Namespace only in the first, workers only in the last', (_name, environment) => {
    const { byStage } = synthEnvironment(environment);
    const kinds = (objects: { kind: string }[]) => [...new Set(objects.map((o) => o.kind))].sort();
    expect(kinds(byStage.namespace)).toEqual(['Namespace']);
    expect(kinds(byStage.queue)).toEqual(expect.arrayContaining(['ConfigMap', 'CronJob', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'StatefulSet']));
    expect(kinds(byStage.queue)).not.toContain('Job');
    // The workers stage: the Jobs (or the ScaledJob and its TriggerAuthentication) and the
    // lease heartbeat they mount, nothing the queue needs.
    const keda = environment.workflows.some((w) => w.scaling !== undefined);
    expect(kinds(byStage.workers)).toEqual(keda ? ['ConfigMap', 'ScaledJob', 'TriggerAuthentication'] : ['ConfigMap', 'Job']);
  });

  test('dev and prod use distinct namespaces; prod keeps the original\'s "ard"', () => {
    const namespaces = ENVIRONMENTS.map((e) => onlyOfKind(synthEnvironment(e).objects, 'Namespace').metadata.name);
    expect(new Set(namespaces).size).toBe(ENVIRONMENTS.length);
    expect(onlyOfKind(synthEnvironment(PROD).objects, 'Namespace').metadata.name).toBe('ard');
  });

  test('dev: one worker, emptyDir Redis, public data without signing', () => {
    const { objects } = synthEnvironment(DEV);
    const job = onlyOfKind(objects, 'Job');
    expect(job.spec.parallelism).toBe(1);
    expect(job.spec.template.spec.containers[0].env).toContainEqual({ name: 'AWS_NO_SIGN_REQUEST', value: 'YES' });
    const statefulSet = onlyOfKind(objects, 'StatefulSet');
    expect(statefulSet.spec.volumeClaimTemplates).toBeUndefined();
    expect(statefulSet.spec.template.spec.volumes).toContainEqual(expect.objectContaining({ name: 'data', emptyDir: expect.anything() }));
  });

  test('prod: production parallelism, a persistent volume claim, workers spread across nodes', () => {
    const { objects } = synthEnvironment(PROD);
    const job = onlyOfKind(objects, 'Job');
    expect(job.spec.parallelism).toBeGreaterThan(1);
    expect(job.spec.template.spec.affinity.podAntiAffinity).toBeDefined();
    expect(onlyOfKind(objects, 'StatefulSet').spec.volumeClaimTemplates).toHaveLength(1);
  });

  test('adding Landsat and Sentinel-1 is a few lines: their own queue, image, Job and recovery', () => {
    const environment: EnvironmentConfig = {
      ...PROD,
      workflows: [...PROD.workflows, { workflow: LANDSAT, parallelism: 5 }, { workflow: SENTINEL_1 }],
    };
    const { objects } = synthEnvironment(environment);
    const jobs = ofKind(objects, 'Job');
    expect(jobs.map((j) => j.spec.template.spec.containers[0].image)).toEqual([SENTINEL_2.image, LANDSAT.image, SENTINEL_1.image]);
    expect(ofKind(objects, 'CronJob').map((c) => c.metadata.name)).toEqual(['s2-requeue-expired', 'ls-requeue-expired', 's1-requeue-expired']);
  });

  test('the namespace enforces the strictest Pod Security level all pods pass; warn and audit are restricted', () => {
    const labels = (environment: EnvironmentConfig) => onlyOfKind(synthEnvironment(environment).objects, 'Namespace').metadata.labels;
    expect(labels(PROD)).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline', // the worker images run as root
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    const nonRootWorkers = { ...PROD, workflows: [{ ...PROD.workflows[0], security: { runAsUser: 1000 } }] };
    expect(labels(nonRootWorkers)['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  test.each([
    [{ ...PROD, workflows: [{ workflow: SENTINEL_2 }, { workflow: { ...LANDSAT, queue: 'jobS2' } }] },
      'two workflows use the queue "jobS2": each workflow needs its own queue'],
    [{ ...PROD, workflows: [{ workflow: SENTINEL_2 }, { workflow: { ...LANDSAT, name: 's2' } }] },
      'two workflows use the workflow name "s2": each workflow needs its own workflow name'],
    [{ ...PROD, namespace: 'ARD' },
      `'environments.prod.namespace' must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "ARD"`],
    [{ ...PROD, name: 'Prod EU' },
      `'environments[].name' must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "Prod EU"`],
  ])('refuses invalid environment %#', (environment, message) => {
    expect(() => synthEnvironment(environment as EnvironmentConfig)).toThrow(message);
  });
});
