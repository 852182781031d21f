import { existsSync, readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { ENVIRONMENTS, EnvironmentConfig } from '../../lib/environments';
import { STAGES } from '../../lib/work-queue-chart';
import { LANDSAT, SENTINEL_2 } from '../../protocol/workflows';
import { synthEnvironment } from '../support/synth';
import { checkAll, containersOf, formatViolation, Manifest, podSpecs, RULES, Violation } from './rules';

const ROOT = path.resolve(__dirname, '..', '..');

/** Every option that touches security or the pods, set, with every worker made restricted. */
const ALL_OPTIONS: EnvironmentConfig = {
  name: 'all-options',
  namespace: 'ard-all',
  redis: {
    image: 'redis:7.4.6-bookworm@sha256:' + 'a'.repeat(64),
    clientImage: 'redis:7.2.11-bookworm',
    adminSecret: 'queue-admin',
    users: [{ name: 'exporter', rules: ['+info', '+ping'], passwordSecret: { name: 'redis-exporter' } }],
    storage: { kind: 'persistentVolumeClaim', size: '5Gi', storageClassName: 'fast' },
    resources: { cpu: '1', memory: '1Gi', cpuLimit: '2' },
    appendFsync: 'everysec',
    disabledCommands: ['FLUSHALL', 'FLUSHDB', 'DEBUG', 'CONFIG', 'KEYS'],
    terminationGracePeriodSeconds: 30,
  },
  workflows: [{
    workflow: SENTINEL_2,
    parallelism: 3,
    image: 'registry.example.com:5000/satapps/ard-workflow-s2:0.4.1',
    backoffLimit: 5,
    ttlSecondsAfterFinished: 0,
    activeDeadlineSeconds: 86_400,
    credentialsSecret: 'ard-s2-credentials',
    credentialsOptional: false,
    env: { AWS_NO_SIGN_REQUEST: 'NO', AWS_S3_ENDPOINT_URL: 'https://s3.example.com' },
    logLevel: 'WARNING',
    resources: { cpu: '2', memory: '8Gi', cpuLimit: '4' },
    scratch: { path: '/scratch/', sizeLimit: '40Gi' },
    nodeSelector: { 'node.kubernetes.io/instance-type': 'c6i.2xlarge' },
    tolerations: [{ key: 'batch', operator: 'Exists', effect: 'NoSchedule' }],
    spreadAcrossNodes: true,
    imagePullSecrets: ['registry'],
    security: { runAsUser: 1000, readOnlyRootFilesystem: true },
  }, {
    workflow: LANDSAT,
    security: { runAsUser: 1000, readOnlyRootFilesystem: true },
  }],
  recovery: { schedule: '*/5 * * * *', graceSeconds: 120, maxAttempts: 5, suspend: true },
};

/** Every object of every stage of the environment, as one set: the rules look across stages. */
function synth(environment: EnvironmentConfig): Manifest[] {
  return synthEnvironment(environment).objects;
}

/** Job names end in a template hash; tests name them `<workflow>-worker-<hash>`. */
const show = (v: Violation) => formatViolation(v).replace(/-worker-[0-9a-f]{10}\b/g, '-worker-<hash>');

const failingRules = (objects: readonly Manifest[]) => [...new Set(checkAll(objects).map((v) => v.rule))].sort();

describe.each([...ENVIRONMENTS.map((e) => [e.name, e] as const), ['all-options', ALL_OPTIONS] as const])('environment %s', (_, environment) => {
  const objects = synth(environment);

  test.each(RULES.map((r) => [r.id, r] as const))('%s: no violations', (_id, rule) => {
    expect(rule.check(objects).map(show)).toEqual([]);
  });

  test('the namespace enforces restricted exactly when every worker is made restricted', () => {
    const namespace = objects.find((o) => o.kind === 'Namespace');
    const allRestricted = environment.workflows.every((w) => w.security?.runAsUser !== undefined && w.security.runAsUser !== 0);
    expect(namespace?.metadata.labels['pod-security.kubernetes.io/enforce']).toBe(allRestricted ? 'restricted' : 'baseline');
  });
});

test('the all-options variant does make every worker restricted', () => {
  expect(synth(ALL_OPTIONS).find((o) => o.kind === 'Namespace')?.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
});

// ---------------------------------------------------------------------------------------------
// Bad fixtures: each breaks one thing in a good object set and names what the rule reports.

const PROD_OBJECTS = synth(ENVIRONMENTS.find((e) => e.name === 'prod')!);
const RESTRICTED_OBJECTS = synth(ALL_OPTIONS);
const KEDA_OBJECTS = synth(ENVIRONMENTS.find((e) => e.name === 'keda')!);
const BASES = { prod: PROD_OBJECTS, restricted: RESTRICTED_OBJECTS, keda: KEDA_OBJECTS };

function one(objects: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}
const podSpecOf = (o: Manifest): Manifest => podSpecs([o])[0].spec;
const podLabelsOf = (o: Manifest): Record<string, string> => podSpecs([o])[0].labels as Record<string, string>;
function containerOf(o: Manifest, name: string): Manifest {
  const found = containersOf(podSpecOf(o)).find(({ container }) => container.name === name);
  if (found === undefined) throw new Error(`no container ${name} in ${o.kind}/${o.metadata?.name}`);
  return found.container;
}
const redis = (objects: Manifest[]) => one(objects, 'StatefulSet', 'redis');
const redisContainer = (objects: Manifest[]) => containerOf(redis(objects), 'redis');
const job = (objects: Manifest[]) => one(objects, 'Job');
const worker = (objects: Manifest[]) => containerOf(job(objects), 'worker');
const initContainer = (objects: Manifest[]) => containerOf(job(objects), 'wait-for-work');
const cronJob = (objects: Manifest[]) => one(objects, 'CronJob');
const recoveryContainer = (objects: Manifest[]) => containerOf(cronJob(objects), 'requeue-expired');
const policy = (objects: Manifest[]) => one(objects, 'NetworkPolicy', 'redis-access');
const namespaceLabels = (objects: Manifest[]): Record<string, string> => one(objects, 'Namespace').metadata.labels;

interface BadFixture {
  readonly rule: string;
  readonly breaks: string;
  /** @default 'prod' */
  readonly base?: 'prod' | 'restricted' | 'keda';
  readonly mutate: (objects: Manifest[]) => void;
  /** What the rule reports, exactly. */
  readonly expected: readonly string[];
  /** Other rules that rightly fail too; any rule not listed must pass. */
  readonly alsoFailing?: readonly string[];
}

const W = 'Job/s2-worker-<hash>';
const R = 'CronJob/s2-requeue-expired';

const FIXTURES: readonly BadFixture[] = [
  // pss-baseline: workers are not exempt from any of it.
  {
    rule: 'pss-baseline', breaks: 'hostNetwork on Redis',
    mutate: (o) => { podSpecOf(redis(o)).hostNetwork = true; },
    expected: ['StatefulSet/redis: hostNetwork must not be true'],
    alsoFailing: ['namespace-pod-security'],
  },
  {
    rule: 'pss-baseline', breaks: 'hostPID and hostIPC on the worker',
    mutate: (o) => { Object.assign(podSpecOf(job(o)), { hostPID: true, hostIPC: true }); },
    expected: [`${W}: hostPID must not be true`, `${W}: hostIPC must not be true`],
    alsoFailing: ['namespace-pod-security'],
  },
  {
    rule: 'pss-baseline', breaks: 'a privileged worker',
    mutate: (o) => { worker(o).securityContext.privileged = true; },
    expected: [`${W} container "worker": privileged must not be true`],
    alsoFailing: ['namespace-pod-security'],
  },
  {
    rule: 'pss-baseline', breaks: 'a hostPath volume and a hostPort',
    mutate: (o) => {
      podSpecOf(cronJob(o)).volumes.push({ name: 'docker', hostPath: { path: '/var/run/docker.sock' } });
      redisContainer(o).ports[0].hostPort = 6379;
    },
    expected: [
      'StatefulSet/redis container "redis": port 6379 must not set hostPort (6379)',
      `${R}: volume "docker" is a hostPath volume`,
    ],
    alsoFailing: ['namespace-pod-security', 'pss-restricted'],
  },
  {
    rule: 'pss-baseline', breaks: 'SYS_ADMIN, an unsafe sysctl, procMount Unmasked and seccomp Unconfined',
    mutate: (o) => {
      worker(o).securityContext.capabilities.add = ['SYS_ADMIN'];
      podSpecOf(job(o)).securityContext.sysctls = [{ name: 'kernel.msgmax', value: '65536' }];
      initContainer(o).securityContext.procMount = 'Unmasked';
      podSpecOf(job(o)).securityContext.seccompProfile.type = 'Unconfined';
    },
    expected: [
      `${W}: seccompProfile.type must not be Unconfined`,
      `${W}: sysctl kernel.msgmax is not in the safe set`,
      `${W} container "wait-for-work": procMount must be Default, got Unmasked`,
      `${W} container "worker": capability SYS_ADMIN must not be added`,
    ],
    alsoFailing: ['namespace-pod-security', 'pss-restricted'],
  },
  // pss-restricted
  {
    rule: 'pss-restricted', breaks: 'allowPrivilegeEscalation unset on the recovery container',
    mutate: (o) => { delete recoveryContainer(o).securityContext.allowPrivilegeEscalation; },
    expected: [`${R} container "requeue-expired": allowPrivilegeEscalation must be false`],
  },
  {
    rule: 'pss-restricted', breaks: 'Redis without runAsNonRoot',
    mutate: (o) => { delete podSpecOf(redis(o)).securityContext.runAsNonRoot; delete redisContainer(o).securityContext.runAsNonRoot; },
    expected: ['StatefulSet/redis container "redis": runAsNonRoot must be true (in the pod or the container)'],
  },
  {
    rule: 'pss-restricted', breaks: "the worker's init container as root: the worker exemption covers the worker container only",
    mutate: (o) => { initContainer(o).securityContext.runAsUser = 0; },
    expected: [`${W} container "wait-for-work": runAsUser must not be 0`],
    alsoFailing: ['redis-user'],
  },
  {
    rule: 'pss-restricted', breaks: 'Redis keeping its capabilities, recovery without seccomp, an nfs volume',
    mutate: (o) => {
      redisContainer(o).securityContext.capabilities = { add: ['CHOWN'] };
      delete podSpecOf(cronJob(o)).securityContext.seccompProfile;
      delete recoveryContainer(o).securityContext.seccompProfile;
      podSpecOf(redis(o)).volumes.push({ name: 'nfs', nfs: { server: 'nfs.example.com', path: '/' } });
    },
    expected: [
      'StatefulSet/redis: volume "nfs" has type nfs, not allowed by restricted',
      'StatefulSet/redis container "redis": capabilities must drop ALL',
      'StatefulSet/redis container "redis": capability CHOWN must not be added (only NET_BIND_SERVICE)',
      `${R} container "requeue-expired": seccompProfile.type must be RuntimeDefault or Localhost (in the pod or the container)`,
    ],
  },
  // read-only-root-filesystem
  {
    rule: 'read-only-root-filesystem', breaks: 'a writable root filesystem for Redis and the init container',
    mutate: (o) => { redisContainer(o).securityContext.readOnlyRootFilesystem = false; delete initContainer(o).securityContext.readOnlyRootFilesystem; },
    expected: [
      'StatefulSet/redis container "redis": readOnlyRootFilesystem must be true',
      `${W} container "wait-for-work": readOnlyRootFilesystem must be true`,
    ],
  },
  {
    rule: 'read-only-root-filesystem', breaks: 'a writable volume where none is needed',
    mutate: (o) => {
      podSpecOf(cronJob(o)).volumes.push({ name: 'tmp', emptyDir: {} });
      recoveryContainer(o).volumeMounts.push({ name: 'tmp', mountPath: '/tmp' });
      redisContainer(o).volumeMounts.push({ name: 'data', mountPath: '/var/lib/redis' });
    },
    expected: [
      'StatefulSet/redis container "redis": writable persistentVolumeClaim volume "data" at /var/lib/redis is not needed (allowed: /data, /run/redis-acl)',
      `${R} container "requeue-expired": writable emptyDir volume "tmp" at /tmp is not needed (allowed: none)`,
    ],
  },
  // no-service-account-token
  {
    rule: 'no-service-account-token', breaks: 'a mounted token on Redis and on the worker',
    mutate: (o) => { delete podSpecOf(redis(o)).automountServiceAccountToken; podSpecOf(job(o)).automountServiceAccountToken = true; },
    expected: ['StatefulSet/redis: automountServiceAccountToken must be false', `${W}: automountServiceAccountToken must be false`],
  },
  // redis-user
  {
    rule: 'redis-user', breaks: "another fsGroup for Redis and another uid for the recovery's redis-cli",
    mutate: (o) => { podSpecOf(redis(o)).securityContext.fsGroup = 1000; recoveryContainer(o).securityContext.runAsUser = 1001; },
    expected: [
      'StatefulSet/redis: fsGroup must be 999, got 1000',
      `${R} container "requeue-expired": runAsUser must be 999 (the redis user of the official image), got 1001`,
    ],
  },
  {
    rule: 'redis-user', breaks: 'Redis on another image and uid',
    mutate: (o) => { redisContainer(o).image = 'bitnami/redis:7.2.4'; podSpecOf(redis(o)).securityContext.runAsUser = 1001; },
    expected: [
      'StatefulSet/redis container "acl": runAsUser must be 999 (the redis user of the official image), got 1001',
      'StatefulSet/redis container "redis": runAsUser must be 999 (the redis user of the official image), got 1001',
    ],
    alsoFailing: ['redis-image-patched'],
  },
  // image-pinned
  {
    rule: 'image-pinned', breaks: 'redis:latest and an untagged worker image behind a registry port',
    mutate: (o) => { redisContainer(o).image = 'redis:latest'; worker(o).image = 'registry.example.com:5000/satapps/ard-workflow-s2'; },
    expected: [
      'StatefulSet/redis container "redis": image "redis:latest" uses the tag latest',
      `${W} container "worker": image "registry.example.com:5000/satapps/ard-workflow-s2" has no tag`,
    ],
    alsoFailing: ['redis-image-patched'],
  },
  {
    rule: 'image-pinned', breaks: 'a digest without a tag',
    mutate: (o) => { recoveryContainer(o).image = `redis@sha256:${'b'.repeat(64)}`; },
    expected: [`${R} container "requeue-expired": image "redis@sha256:${'b'.repeat(64)}" has no tag`],
    alsoFailing: ['redis-image-patched'],
  },
  // resources
  {
    rule: 'resources', breaks: "Redis's memory limit and the init container's requests",
    mutate: (o) => { delete redisContainer(o).resources.limits.memory; delete initContainer(o).resources.requests; },
    expected: [
      'StatefulSet/redis container "redis": has no memory limit',
      `${W} container "wait-for-work": has no cpu request`,
      `${W} container "wait-for-work": has no memory request`,
    ],
  },
  // redis-probes
  {
    rule: 'redis-probes', breaks: "Redis's liveness probe",
    mutate: (o) => { delete redisContainer(o).livenessProbe; },
    expected: ['StatefulSet/redis container "redis": has no livenessProbe'],
  },
  {
    rule: 'redis-probes', breaks: 'the Redis pod label, so no Redis pod is found (the Redis rules must not pass vacuously)',
    mutate: (o) => { podLabelsOf(redis(o))['app.kubernetes.io/name'] = 'redis-server'; },
    expected: ['Pod/(none): no Redis pod (label app.kubernetes.io/name=redis) in the output'],
    alsoFailing: ['redis-acl', 'redis-network-policy', 'service-selects-pods'],
  },
  // redis-acl
  {
    rule: 'redis-acl', breaks: 'the default user granted everything, scripting, all keys and channels',
    mutate: (o) => {
      const data = one(o, 'ConfigMap', 'redis-config').data;
      data['users.acl'] = data['users.acl'].replace('user default on nopass resetkeys resetchannels -@all (+ping)',
        'user default on nopass resetkeys ~* &* +@all -@all (+ping +eval +client|kill)');
    },
    expected: [
      'StatefulSet/redis container "redis": the default user must start from no commands (-@all) before it is granted any',
      'StatefulSet/redis container "redis": the default user must not reach every key (~*)',
      'StatefulSet/redis container "redis": the default user must not reach every channel (&*)',
      'StatefulSet/redis container "redis": the default user must be granted single commands, not +@all',
      'StatefulSet/redis container "redis": the default user must not run eval',
      'StatefulSet/redis container "redis": the default user must not run client|kill',
    ],
  },
  {
    rule: 'redis-acl', breaks: 'Redis started without --aclfile, a password in git, admin allowed FLUSHALL',
    mutate: (o) => {
      const command: string[] = redisContainer(o).command;
      command[2] = command[2].replace(' --aclfile "$REDIS_ACL_FILE"', '');
      const data = one(o, 'ConfigMap', 'redis-config').data;
      data['users.acl'] = data['users.acl'].replace(' -flushall', ' >hunter2hunter2');
    },
    expected: [
      'StatefulSet/redis container "redis": starts without an ACL file (--aclfile, or aclfile in redis.conf)',
      'StatefulSet/redis container "redis": the ACL line of user admin holds a password: passwords come from Secrets',
      'StatefulSet/redis container "redis": user admin may run FLUSHALL (add -flushall after +@all)',
    ],
  },
  {
    rule: 'redis-acl', breaks: 'no default user in the ConfigMap (Redis would leave it open)',
    mutate: (o) => {
      const data = one(o, 'ConfigMap', 'redis-config').data;
      data['users.acl'] = data['users.acl'].split('\n').filter((l: string) => !l.startsWith('user default')).join('\n');
    },
    expected: ['StatefulSet/redis container "redis": no "user default" ACL line in a ConfigMap mounted into the Redis pod'],
  },
  // redis-image-patched
  {
    rule: 'redis-image-patched', breaks: 'Redis 7.2.7 (before the fixes), a recovery image without a version tag, a mirrored 7.4.5 gate',
    mutate: (o) => {
      redisContainer(o).image = 'redis:7.2.7-bookworm';
      recoveryContainer(o).image = 'redis:bookworm';
      initContainer(o).image = 'mirror.example.com:5000/library/redis:7.4.5';
    },
    expected: [
      'StatefulSet/redis container "redis": image "redis:7.2.7-bookworm" is Redis 7.2.7, without the fixes for CVE-2025-49844 and CVE-2025-21605 (7.2.11, 7.4.6, 8.0.4, 8.2.2)',
      `${R} container "requeue-expired": image "redis:bookworm" does not name its Redis version in its tag`,
      `${W} container "wait-for-work": image "mirror.example.com:5000/library/redis:7.4.5" is Redis 7.4.5, without the fixes for CVE-2025-49844 and CVE-2025-21605 (7.2.11, 7.4.6, 8.0.4, 8.2.2)`,
    ],
  },
  // redis-cli-errexit
  {
    rule: 'redis-cli-errexit', breaks: 'the recovery run without -e',
    mutate: (o) => { recoveryContainer(o).command = recoveryContainer(o).command.filter((a: string) => a !== '-e'); },
    expected: [`${R} container "requeue-expired": runs redis-cli without -e: an error reply would exit 0 and the run would look successful`],
  },
  // no-literal-credentials
  {
    rule: 'no-literal-credentials', breaks: 'a literal AWS secret and a Copernicus password from a ConfigMap',
    mutate: (o) => {
      worker(o).env.push(
        { name: 'AWS_SECRET_ACCESS_KEY', value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
        { name: 'COPERNICUS_PWD', valueFrom: { configMapKeyRef: { name: 'settings', key: 'pwd' } } },
        // From a Secret is how credentials must arrive: not a violation.
        { name: 'GCP_PRIVATE_KEY', valueFrom: { secretKeyRef: { name: 'ard-credentials', key: 'GCP_PRIVATE_KEY' } } },
      );
    },
    expected: [
      `${W} container "worker": env AWS_SECRET_ACCESS_KEY looks like a credential and must come from a Secret (secretKeyRef or envFrom), not a literal value`,
      `${W} container "worker": env COPERNICUS_PWD looks like a credential and must come from a Secret (secretKeyRef or envFrom), not a ConfigMap`,
    ],
  },
  // no-secret-objects
  {
    rule: 'no-secret-objects', breaks: 'a Secret in the output',
    mutate: (o) => { o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ard-credentials', namespace: 'ard' }, data: { AWS_SECRET_ACCESS_KEY: 'eA==' } }); },
    expected: ['Secret/ard-credentials: a Secret must not be in the manifests (base64 is not encryption); create it out of band'],
  },
  // job-ttl
  {
    rule: 'job-ttl', breaks: 'ttlSecondsAfterFinished of the Job and of the CronJob',
    mutate: (o) => { delete job(o).spec.ttlSecondsAfterFinished; delete cronJob(o).spec.jobTemplate.spec.ttlSecondsAfterFinished; },
    expected: [`${R}: spec.jobTemplate.spec.ttlSecondsAfterFinished is not set`, `${W}: spec.ttlSecondsAfterFinished is not set`],
  },
  // service-selects-pods
  {
    rule: 'service-selects-pods', breaks: 'a selector typo and a missing selector',
    mutate: (o) => {
      one(o, 'Service', 'redis-master').spec.selector['app.kubernetes.io/name'] = 'redis-master';
      delete one(o, 'Service', 'redis-headless').spec.selector;
    },
    expected: [
      'Service/redis-headless: has no selector',
      'Service/redis-master: selector {"app.kubernetes.io/instance":"redis","app.kubernetes.io/name":"redis-master"} matches no pod',
    ],
  },
  {
    rule: 'service-selects-pods', breaks: 'a targetPort no container has',
    mutate: (o) => { one(o, 'Service', 'redis-master').spec.ports[0].targetPort = 'redis-tls'; },
    expected: ['Service/redis-master: targetPort "redis-tls" is no container port of the selected pods'],
  },
  // redis-network-policy
  {
    rule: 'redis-network-policy', breaks: 'the policy widened to every pod of the namespace',
    mutate: (o) => { policy(o).spec.ingress[0].from[0].podSelector = {}; },
    expected: ['NetworkPolicy/redis-access: ingress[0].from[0] admits StatefulSet/redis, which is no Redis client (worker, queue-recovery, metrics)'],
  },
  {
    rule: 'redis-network-policy', breaks: 'every port, other namespaces, and the recovery pods left out',
    mutate: (o) => {
      delete policy(o).spec.ingress[0].ports;
      policy(o).spec.ingress[0].from.push({ namespaceSelector: {}, podSelector: {} });
      delete podLabelsOf(cronJob(o))['ard-workqueue/redis-client'];
    },
    expected: [
      'NetworkPolicy/redis-access: ingress[0] admits every port',
      `NetworkPolicy/redis-access: ingress[0].from[0] does not admit ${R}, a Redis client`,
      "NetworkPolicy/redis-access: ingress[0].from[1] must select one other namespace by 'kubernetes.io/metadata.name' only",
    ],
  },
  {
    rule: 'redis-network-policy', breaks: 'the KEDA operator admitted where no ScaledJob polls Redis',
    mutate: (o) => {
      policy(o).spec.ingress[0].from.push({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } }, podSelector: { matchLabels: { app: 'keda-operator' } },
      });
    },
    expected: ['NetworkPolicy/redis-access: ingress[0].from[1] admits pods of namespace keda, but no ScaledJob of namespace ard has a redis trigger'],
  },
  {
    rule: 'redis-network-policy', base: 'keda', breaks: 'every pod of the KEDA namespace, and an ipBlock',
    mutate: (o) => {
      policy(o).spec.ingress[0].from[1].podSelector = {};
      policy(o).spec.ingress[0].from.push({ ipBlock: { cidr: '0.0.0.0/0' } });
    },
    expected: [
      "NetworkPolicy/redis-access: ingress[0].from[1] admits every pod of namespace keda: select the KEDA operator's pods by label",
      'NetworkPolicy/redis-access: ingress[0].from[2] must be a podSelector only (no ipBlock, no namespaceSelector)',
    ],
  },
  {
    rule: 'pss-baseline', base: 'keda', breaks: 'a privileged worker in the ScaledJob\'s pod template',
    mutate: (o) => { containerOf(one(o, 'ScaledJob'), 'worker').securityContext.privileged = true; },
    expected: ['ScaledJob/s2-worker container "worker": privileged must not be true'],
    alsoFailing: ['namespace-pod-security'],
  },
  {
    rule: 'redis-network-policy', breaks: 'a second, allow-all policy (policies add up)',
    mutate: (o) => {
      policy(o).spec.ingress[0].ports.push({ protocol: 'UDP', port: 6379 }, { port: 6000, endPort: 6400 });
      o.push({
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-all', namespace: 'ard' },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] },
      });
    },
    expected: [
      'NetworkPolicy/redis-access: ingress[0] admits UDP 6379; only TCP 6379 is allowed',
      'NetworkPolicy/redis-access: ingress[0] admits TCP 6000-6400; only TCP 6379 is allowed',
      'NetworkPolicy/allow-all: ingress[0] admits every port',
      'NetworkPolicy/allow-all: ingress[0] admits every source',
    ],
    alsoFailing: ['default-deny-ingress'],
  },
  {
    rule: 'redis-network-policy', breaks: 'no policy at all',
    mutate: (o) => {
      o.splice(o.indexOf(policy(o)), 1);
      o.splice(o.indexOf(one(o, 'NetworkPolicy', 'default-deny-ingress')), 1);
    },
    expected: ['StatefulSet/redis: no NetworkPolicy isolates the Redis pods for Ingress'],
    alsoFailing: ['default-deny-ingress'],
  },
  // default-deny-ingress
  {
    rule: 'default-deny-ingress', breaks: 'the default deny removed',
    mutate: (o) => { o.splice(o.indexOf(one(o, 'NetworkPolicy', 'default-deny-ingress')), 1); },
    expected: ['Namespace/ard: has no default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules)'],
  },
  {
    rule: 'default-deny-ingress', breaks: 'the default deny turned into an allow-all',
    mutate: (o) => { one(o, 'NetworkPolicy', 'default-deny-ingress').spec.ingress = [{ from: [{ podSelector: {} }] }]; },
    expected: [
      'Namespace/ard: has no default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules)',
      'NetworkPolicy/default-deny-ingress: selects every pod of the namespace and admits ingress: it undoes the default deny',
    ],
    alsoFailing: ['redis-network-policy'],
  },
  // namespace-pod-security
  {
    rule: 'namespace-pod-security', breaks: 'enforce privileged and warn baseline',
    mutate: (o) => { Object.assign(namespaceLabels(o), { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'baseline' }); },
    expected: [
      'Namespace/ard: pod-security.kubernetes.io/enforce must be baseline, the strictest level all its pods pass, got privileged',
      'Namespace/ard: pod-security.kubernetes.io/warn must be restricted, got baseline',
    ],
  },
  {
    rule: 'namespace-pod-security', base: 'restricted', breaks: 'a worker of a restricted namespace back to root (the exemption hides it from pss-restricted)',
    mutate: (o) => {
      for (const j of o.filter((x) => x.kind === 'Job').slice(0, 1)) {
        delete podSpecOf(j).securityContext.runAsNonRoot;
        delete containerOf(j, 'worker').securityContext.runAsNonRoot;
      }
    },
    expected: ['Namespace/ard-all: pod-security.kubernetes.io/enforce must be baseline, the strictest level all its pods pass, got restricted'],
  },
  {
    rule: 'namespace-pod-security', breaks: 'no Namespace in the output',
    mutate: (o) => { o.splice(o.indexOf(one(o, 'Namespace')), 1); },
    expected: ['Namespace/ard: holds pods but is not in the output, so nothing sets its Pod Security labels'],
  },
];

describe('bad fixtures', () => {
  test('every rule has at least one bad fixture, and rule ids are unique', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    expect([...new Set(FIXTURES.map((f) => f.rule))].sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  test('the fixtures start from object sets without violations', () => {
    expect(checkAll(PROD_OBJECTS).map(show)).toEqual([]);
    expect(checkAll(RESTRICTED_OBJECTS).map(show)).toEqual([]);
    expect(checkAll(KEDA_OBJECTS).map(show)).toEqual([]);
  });

  test.each(FIXTURES)('$rule: reports $breaks', ({ rule: id, base, mutate, expected, alsoFailing }) => {
    const objects = structuredClone(BASES[base ?? 'prod']);
    mutate(objects);
    const rule = RULES.find((r) => r.id === id)!;
    expect(rule.check(objects).map(show)).toEqual(expected);
    expect(failingRules(objects)).toEqual([id, ...(alsoFailing ?? [])].sort());
  });

  test('a hardening regression in the constructs is caught (pod-security.ts weakened in memory)', () => {
    // The real construct code with the shared container security context weakened, as a bad
    // edit of lib/pod-security.ts would: no file is touched.
    let objects: Manifest[] = [];
    jest.isolateModules(() => {
      jest.doMock('../../lib/pod-security', () => {
        const actual = jest.requireActual('../../lib/pod-security');
        return { ...actual, RESTRICTED_CONTAINER_SECURITY_CONTEXT: { ...actual.RESTRICTED_CONTAINER_SECURITY_CONTEXT, allowPrivilegeEscalation: true } };
      });
      const support: typeof import('../support/synth') = require('../support/synth');
      objects = support.synthEnvironment(ENVIRONMENTS.find((e) => e.name === 'prod')!).objects;
    });
    jest.dontMock('../../lib/pod-security');
    expect(checkAll(objects).map(show)).toEqual([
      'StatefulSet/redis container "acl": allowPrivilegeEscalation must be false',
      'StatefulSet/redis container "redis": allowPrivilegeEscalation must be false',
      `${R} container "requeue-expired": allowPrivilegeEscalation must be false`,
      'Deployment/redis-exporter container "exporter": allowPrivilegeEscalation must be false',
      `${W} container "wait-for-work": allowPrivilegeEscalation must be false`,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// What users apply: the committed dist/ files.

function k8sYamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? k8sYamlFiles(full) : e.name.endsWith('.k8s.yaml') ? [full] : [];
  });
}

describe('committed manifests in dist/', () => {
  const files = k8sYamlFiles(path.join(ROOT, 'dist')).map((f) => path.relative(ROOT, f)).sort();

  test('there is a folder per environment and stage, each with manifests', () => {
    const folders = [...new Set(files.map((f) => path.dirname(f)))].sort();
    expect(folders).toEqual(ENVIRONMENTS.flatMap((e) => STAGES.map((s) => path.join('dist', e.name, s))).sort());
  });

  // The rules look across stages (a NetworkPolicy and the pods it admits are in different
  // stages), so each environment is checked as the union of its stage folders.
  test.each(ENVIRONMENTS.map((e) => e.name))('dist/%s/: every rule passes', (name) => {
    const objects = files.filter((f) => f.startsWith(path.join('dist', name) + path.sep)).flatMap((file) => {
      const documents = parseAllDocuments(readFileSync(path.join(ROOT, file), 'utf8'));
      for (const d of documents) expect(d.errors).toEqual([]);
      return documents.map((d) => d.toJSON() as Manifest).filter((o) => o !== null);
    });
    expect(objects.length).toBeGreaterThan(0);
    expect(checkAll(objects).map(show)).toEqual([]);
  });
});
