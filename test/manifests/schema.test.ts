import { ENVIRONMENTS } from '../../lib/environments';
import { synthEnvironment } from '../support/synth';
import { validateManifest } from '../support/schema';

describe.each(ENVIRONMENTS.map((e) => [e.name, e] as const))('environment %s', (_name, environment) => {
  const { objects } = synthEnvironment(environment);
  test.each(objects.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))('%s is valid against its schema (Kubernetes 1.27, or its CRD)', (_id, object) => {
    expect(() => validateManifest(object)).not.toThrow();
  });
});

describe('the schema check', () => {
  const { objects } = synthEnvironment(ENVIRONMENTS[0]);
  const job = objects.find((o) => o.kind === 'Job')!;

  test('rejects a wrongly typed field', () => {
    const broken = { ...job, spec: { ...job.spec, parallelism: 'ten' } };
    expect(() => validateManifest(broken)).toThrow('data/spec/parallelism must be integer');
  });

  test('rejects a missing required field', () => {
    const broken = { ...job, spec: { ...job.spec, template: { ...job.spec.template, spec: { ...job.spec.template.spec, containers: undefined } } } };
    expect(() => validateManifest(broken)).toThrow("data/spec/template/spec must have required property containers");
  });

  test('rejects an unknown kind', () => {
    expect(() => validateManifest({ ...job, kind: 'WorkQueue' })).toThrow('no schema for batch/v1 WorkQueue');
  });
});

describe('the CRD schema check (ServiceMonitor, PrometheusRule)', () => {
  const { objects } = synthEnvironment(ENVIRONMENTS.find((e) => e.name === 'prod')!);
  const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;
  const rule = objects.find((o) => o.kind === 'PrometheusRule')!;

  test('prod holds both, so the per-object checks above cover them', () => {
    expect([monitor?.metadata.name, rule?.metadata.name]).toEqual(['redis-exporter', 'ard-workqueue']);
  });

  test('rejects a ServiceMonitor without endpoints', () => {
    expect(() => validateManifest({ ...monitor, spec: { ...monitor.spec, endpoints: undefined } }))
      .toThrow("monitoring.coreos.com/v1/ServiceMonitor redis-exporter: /spec must have required property 'endpoints'");
  });

  test('rejects a PrometheusRule whose rule has no expr', () => {
    const groups = [{ name: 'g', rules: [{ alert: 'A' }] }];
    expect(() => validateManifest({ ...rule, spec: { groups } }))
      .toThrow("monitoring.coreos.com/v1/PrometheusRule ard-workqueue: /spec/groups/0/rules/0 must have required property 'expr'");
  });
});

describe('the CRD schema check (ScaledJob, TriggerAuthentication)', () => {
  const { objects } = synthEnvironment(ENVIRONMENTS.find((e) => e.name === 'keda')!);
  const scaledJob = objects.find((o) => o.kind === 'ScaledJob')!;
  const auth = objects.find((o) => o.kind === 'TriggerAuthentication')!;

  test('keda holds both, so the per-object checks above cover them', () => {
    expect([scaledJob?.metadata.name, auth?.metadata.name]).toEqual(['s2-worker', 's2-worker-redis']);
  });

  test('rejects a ScaledJob whose ceiling is not an integer', () => {
    expect(() => validateManifest({ ...scaledJob, spec: { ...scaledJob.spec, maxReplicaCount: 'ten' } }))
      .toThrow('keda.sh/v1alpha1/ScaledJob s2-worker: /spec/maxReplicaCount must be integer');
  });

  test('rejects a ScaledJob trigger without a type, and an unknown rollout strategy', () => {
    const triggers = [{ metadata: scaledJob.spec.triggers[0].metadata }];
    expect(() => validateManifest({ ...scaledJob, spec: { ...scaledJob.spec, triggers, rollout: { strategy: 'rolling' } } }))
      .toThrow("keda.sh/v1alpha1/ScaledJob s2-worker: /spec/rollout/strategy must be equal to one of the allowed values; /spec/triggers/0 must have required property 'type'");
  });

  test('rejects a worker container without a name in the jobTargetRef template', () => {
    const template = structuredClone(scaledJob.spec.jobTargetRef.template);
    delete template.spec.containers[0].name;
    expect(() => validateManifest({ ...scaledJob, spec: { ...scaledJob.spec, jobTargetRef: { ...scaledJob.spec.jobTargetRef, template } } }))
      .toThrow("keda.sh/v1alpha1/ScaledJob s2-worker: /spec/jobTargetRef/template/spec/containers/0 must have required property 'name'");
  });

  test('rejects a TriggerAuthentication secret reference without its parameter', () => {
    expect(() => validateManifest({ ...auth, spec: { secretTargetRef: [{ name: 'redis-keda', key: 'password' }] } }))
      .toThrow("keda.sh/v1alpha1/TriggerAuthentication s2-worker-redis: /spec/secretTargetRef/0 must have required property 'parameter'");
  });
});
