import { Chart, Testing } from 'cdk8s';
import { ACL_BUILD_SCRIPT } from '../../lib/redis-acl';
import { DEFAULT_DISABLED_COMMANDS } from '../../lib/redis-config';
import { DEFAULT_REDIS_IMAGE, RedisQueueStore, RedisQueueStoreProps } from '../../lib/redis-queue-store';
import { REDIS_LIVENESS_SCRIPT, REDIS_READINESS_SCRIPT, REDIS_START_SCRIPT } from '../../lib/redis-start';
import { ofKind, onlyOfKind } from '../support/manifests';
import { synthChart } from '../support/synth';

const synthRedis = (props?: RedisQueueStoreProps) => synthChart((chart) => new RedisQueueStore(chart, 'redis', props));

// Every prop set, so that a new prop cannot go untested: the type fails to compile without it.
const ALL_PROPS: Required<RedisQueueStoreProps> = {
  image: `redis:7.4.6-bookworm@sha256:${'c'.repeat(64)}`,
  clientImage: 'redis:8.2.2',
  queues: ['jobS2', 'jobLS'],
  adminSecret: 'queue-admin',
  users: [{ name: 'exporter', rules: ['+info', '+ping', '(~jobS2 +llen)'], passwordSecret: { name: 'redis-exporter', key: 'pw' } }],
  storage: { kind: 'persistentVolumeClaim', size: '50Gi', storageClassName: 'fast-ssd' },
  resources: { cpu: '1', memory: '8Gi', cpuLimit: '2' },
  appendFsync: 'everysec',
  disabledCommands: ['FLUSHALL'],
  terminationGracePeriodSeconds: 120,
  priorityClassName: 'ard.queue-critical',
  nodeSelector: { 'node.kubernetes.io/lifecycle': 'on-demand' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'queue', effect: 'NoSchedule' }],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'spot', operator: 'NotIn', values: ['true'] }] }] } } },
};

describe('RedisQueueStore', () => {
  test('the client Service is named exactly redis-master, on port 6379, selecting the Redis pod', () => {
    const objects = synthRedis();
    const service = onlyOfKind(objects, 'Service', 'redis-master');
    const statefulSet = onlyOfKind(objects, 'StatefulSet');
    expect(service.spec.ports).toEqual([{ name: 'redis', port: 6379, protocol: 'TCP', targetPort: 'redis' }]);
    expect(service.spec.type).toBe('ClusterIP');
    expect(statefulSet.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });

  test('a headless Service governs the one-replica StatefulSet', () => {
    const objects = synthRedis();
    const headless = onlyOfKind(objects, 'Service', 'redis-headless');
    const statefulSet = onlyOfKind(objects, 'StatefulSet');
    expect(headless.spec.clusterIP).toBe('None');
    expect(statefulSet.apiVersion).toBe('apps/v1');
    expect(statefulSet.spec.serviceName).toBe('redis-headless');
    expect(statefulSet.spec.replicas).toBe(1);
  });

  test.each(['redis:7.2.11', 'redis:7.2.12-alpine', 'redis:7.4.6-bookworm', 'redis:8.0.4', 'redis:8.2.2', 'redis:8.4.0', 'redis:9.0.0',
    `mirror.example.com:5000/library/redis:7.2.11-bookworm@sha256:${'d'.repeat(64)}`])('accepts the patched image %s', (image) => {
    expect(new RedisQueueStore(new Chart(Testing.app(), 't'), 'redis', { image, clientImage: image }).image).toBe(image);
  });

  test('defaults: pinned official image, persistent volume claim of 10Gi, probes, resources', () => {
    const statefulSet = onlyOfKind(synthRedis(), 'StatefulSet');
    const [redis] = statefulSet.spec.template.spec.containers;
    expect(redis.image).toBe(DEFAULT_REDIS_IMAGE);
    expect(DEFAULT_REDIS_IMAGE).toBe('redis:7.2.11-bookworm');
    expect(statefulSet.spec.volumeClaimTemplates).toEqual([expect.objectContaining({
      metadata: expect.objectContaining({ name: 'data' }),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
    })]);
    expect(redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(redis.readinessProbe.exec.command).toEqual(['sh', '-c', REDIS_READINESS_SCRIPT]);
    expect(redis.livenessProbe.exec.command).toEqual(['sh', '-c', REDIS_LIVENESS_SCRIPT]);
    // The probes read the port and the serving marker from the container's env.
    expect(redis.env).toContainEqual({ name: 'REDIS_PORT', value: '6379' });
    expect(redis.env).toContainEqual({ name: 'REDIS_SERVING_FILE', value: '/run/redis-acl/serving' });
    expect(redis.resources).toEqual({ requests: { cpu: '250m', memory: '2Gi' }, limits: { memory: '2Gi' } });
    expect(statefulSet.spec.template.spec.terminationGracePeriodSeconds).toBe(60);
  });

  test('all props reach the manifests', () => {
    const objects = synthRedis(ALL_PROPS);
    const statefulSet = onlyOfKind(objects, 'StatefulSet');
    const [redis] = statefulSet.spec.template.spec.containers;
    const conf = onlyOfKind(objects, 'ConfigMap').data['redis.conf'];
    expect(redis.image).toBe(`redis:7.4.6-bookworm@sha256:${'c'.repeat(64)}`);
    expect(statefulSet.spec.template.spec.initContainers[0].image).toBe(redis.image);
    expect(statefulSet.spec.volumeClaimTemplates[0].spec).toEqual({
      accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '50Gi' } },
    });
    expect(redis.resources).toEqual({ requests: { cpu: '1', memory: '8Gi' }, limits: { cpu: '2', memory: '8Gi' } });
    expect(conf).toContain('appendfsync everysec\n');
    expect(conf).toContain('maxmemory 4294967296\n'); // half of 8Gi, room for the AOF rewrite fork
    const acl: string = onlyOfKind(objects, 'ConfigMap').data['users.acl'];
    expect(acl.split('\n').filter((l) => l.startsWith('user '))).toEqual([
      'user default on nopass resetkeys resetchannels -@all (+ping) (~jobS2 ~jobS2:processing ~jobLS ~jobLS:processing +llen +brpoplpush +rpoplpush +lrem) ' +
        '(~jobS2:leased_by_session:* ~jobLS:leased_by_session:* +setex) ' +
        '(~jobS2:leased_by_session:* ~????????-????-????-????-???????????? ~jobLS:leased_by_session:* +del) ' +
        '(~jobS2:leased_by_session:* ~jobLS:leased_by_session:* +watch +get +multi +expire +exec +unwatch) ' +
        '(~jobS2 ~jobS2:processing ~jobLS ~jobLS:processing +ping +llen)',
      'user admin on resetpass resetkeys resetchannels -@all ~* +@all -flushall',
      'user exporter on resetpass resetkeys resetchannels -@all +info +ping (~jobS2 +llen)',
    ]);
    expect(statefulSet.spec.template.spec.volumes).toContainEqual({
      name: 'passwords',
      projected: {
        defaultMode: 0o440,
        sources: [
          { secret: { name: 'queue-admin', items: [{ key: 'password', path: 'admin' }] } },
          { secret: { name: 'redis-exporter', items: [{ key: 'pw', path: 'exporter' }] } },
        ],
      },
    });
    expect(statefulSet.spec.template.spec.terminationGracePeriodSeconds).toBe(120);
    expect(statefulSet.spec.template.spec).toMatchObject({
      priorityClassName: 'ard.queue-critical',
      nodeSelector: ALL_PROPS.nodeSelector,
      tolerations: ALL_PROPS.tolerations,
      affinity: ALL_PROPS.affinity,
    });
  });

  test('no voluntary eviction of the one replica: a PodDisruptionBudget with maxUnavailable 0 selects the Redis pod', () => {
    const objects = synthRedis();
    const pdb = onlyOfKind(objects, 'PodDisruptionBudget', 'redis');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 0, selector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis' } } });
    expect(onlyOfKind(objects, 'StatefulSet').spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
  });

  test('the data volume claim is retained, stated explicitly; no priority or placement by default', () => {
    const statefulSet = onlyOfKind(synthRedis(), 'StatefulSet');
    expect(statefulSet.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    for (const field of ['priorityClassName', 'nodeSelector', 'tolerations', 'affinity']) {
      expect(statefulSet.spec.template.spec).not.toHaveProperty(field);
    }
  });

  test('emptyDir storage for development: no claim template, a size-limited emptyDir', () => {
    const statefulSet = onlyOfKind(synthRedis({ storage: { kind: 'emptyDir' } }), 'StatefulSet');
    expect(statefulSet.spec.volumeClaimTemplates).toBeUndefined();
    expect(statefulSet.spec.template.spec.volumes).toContainEqual({ name: 'data', emptyDir: { sizeLimit: '1Gi' } });
  });

  test('redis.conf: AOF with fsync always, no RDB, noeviction, no DEBUG or MODULE for anyone', () => {
    const conf: string = onlyOfKind(synthRedis(), 'ConfigMap').data['redis.conf'];
    const lines = conf.split('\n');
    expect(lines).toEqual(expect.arrayContaining([
      'appendonly yes', 'appendfsync always', 'save ""', 'maxmemory-policy noeviction', 'maxmemory 1073741824',
      'enable-debug-command no', 'enable-module-command no',
    ]));
    expect(lines.filter((l) => /^(rename-command|aclfile|user|requirepass) /.test(l))).toEqual([]);
  });

  test('ACL: default may use every catalogue queue by default; admin is denied the disabled commands', () => {
    const acl: string = onlyOfKind(synthRedis(), 'ConfigMap').data['users.acl'];
    const users = acl.split('\n').filter((l) => l.startsWith('user '));
    for (const queue of ['jobS2', 'jobLS', 'jobS1']) expect(users[0]).toContain(` ~${queue}:processing `);
    expect(users[1]).toBe(`user admin on resetpass resetkeys resetchannels -@all ~* +@all ${DEFAULT_DISABLED_COMMANDS.map((c) => `-${c.toLowerCase()}`).join(' ')}`);
    expect(DEFAULT_DISABLED_COMMANDS).toEqual(expect.arrayContaining(['FLUSHALL', 'FLUSHDB', 'DEBUG']));
    expect(users).toHaveLength(2);
  });

  test('an init container builds the ACL file from the ConfigMap and the admin Secret; Redis loads it', () => {
    const pod = onlyOfKind(synthRedis(), 'StatefulSet').spec.template.spec;
    const [init] = pod.initContainers;
    expect(init.name).toBe('acl');
    expect(init.command).toEqual(['sh', '-c', ACL_BUILD_SCRIPT]);
    expect(init.env).toEqual([
      { name: 'ACL_TEMPLATE', value: '/etc/redis/users.acl' },
      { name: 'ACL_USERS_DIR', value: '/etc/redis-passwords' },
      { name: 'ACL_FILE', value: '/run/redis-acl/users.acl' },
    ]);
    // Redis loads the data with the loading ACL in REDIS_ACL_FILE, then this copy of ACL_FILE.
    expect(pod.containers[0].env).toContainEqual({ name: 'ACL_FILE', value: '/run/redis-acl/users.acl' });
    expect(pod.containers[0].env).toContainEqual({ name: 'REDIS_ACL_FILE', value: '/run/redis-acl/redis.acl' });
    expect(pod.volumes).toContainEqual({ name: 'acl', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
    expect(pod.volumes).toContainEqual({
      name: 'passwords',
      projected: { defaultMode: 0o440, sources: [{ secret: { name: 'redis-admin', items: [{ key: 'password', path: 'admin' }] } }] },
    });
    // Only the init container sees the password files.
    expect(pod.containers[0].volumeMounts.map((m: { name: string }) => m.name)).not.toContain('passwords');
  });

  test('the pod carries a checksum of redis.conf, so a changed configuration rolls the pod', () => {
    const checksum = (props?: RedisQueueStoreProps): string =>
      onlyOfKind(synthRedis(props), 'StatefulSet').spec.template.metadata.annotations['checksum/redis-config'];
    expect(checksum()).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum({ appendFsync: 'everysec' })).not.toBe(checksum());
    expect(checksum({ queues: ['jobS2'] })).not.toBe(checksum());
    // A change outside redis.conf and the ACL does not roll the pod through this annotation.
    expect(checksum({ terminationGracePeriodSeconds: 120 })).toBe(checksum());
  });

  test('the Redis container runs the start-up script on the mounted redis.conf and ACL file and writes only /data and the ACL folder', () => {
    const statefulSet = onlyOfKind(synthRedis(), 'StatefulSet');
    const [redis] = statefulSet.spec.template.spec.containers;
    expect(redis.command).toEqual(['sh', '-c', REDIS_START_SCRIPT]);
    expect(redis.env).toEqual([
      { name: 'REDIS_CONF', value: '/etc/redis/redis.conf' },
      { name: 'REDIS_DATA_DIR', value: '/data' },
      { name: 'REDIS_PORT', value: '6379' },
      { name: 'REDIS_BIND', value: '* -::*' },
      { name: 'ACL_FILE', value: '/run/redis-acl/users.acl' },
      { name: 'REDIS_ACL_FILE', value: '/run/redis-acl/redis.acl' },
      { name: 'REDIS_SERVING_FILE', value: '/run/redis-acl/serving' },
    ]);
    // Where it listens once it serves is redis.conf's bind.
    expect(redis.env.find((e: { name: string }) => e.name === 'REDIS_BIND').value)
      .toBe(/^bind (.*)$/m.exec(onlyOfKind(synthRedis(), 'ConfigMap').data['redis.conf'])![1]);
    expect(redis.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(redis.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/redis', readOnly: true });
    expect(redis.volumeMounts).toContainEqual({ name: 'acl', mountPath: '/run/redis-acl' });
    expect(ofKind(synthRedis(), 'ConfigMap').map((c) => c.metadata.name)).toEqual(['redis-config']);
  });

  test.each([
    [{ image: 'redis' }, `'redis.image' must be pinned by a tag other than 'latest' (e.g. "satapps/ard-workflow-s2:0.4.0"), got "redis"`],
    [{ image: 'redis:latest' }, `'redis.image' must be pinned by a tag other than 'latest' (e.g. "satapps/ard-workflow-s2:0.4.0"), got "redis:latest"`],
    [{ appendFsync: 'no' as any }, `'redis.appendFsync' must be one of "always", "everysec", got "no"`],
    [{ resources: { cpu: '1', memory: 'lots' } }, `'redis.resources.memory' must be a memory quantity such as "512Mi" or "2Gi", got "lots"`],
    [{ disabledCommands: ['ping'] }, `'redis.disabledCommands' must not contain PING: the queue tool checks the connection with it`],
    [{ disabledCommands: ['flushall +@all'] }, `'redis.disabledCommands' must hold Redis command names such as "FLUSHALL" or "CONFIG|SET", got "flushall +@all"`],
    [{ image: 'redis:7.2.7-bookworm' }, `'redis.image' must be a Redis release with the fixes for CVE-2025-49844 and CVE-2025-21605 (7.2.11, 7.4.6, 8.0.4, 8.2.2 or a later patch of the same line, or a line after 8.2), got "redis:7.2.7-bookworm"`],
    [{ image: 'redis:7.4.5' }, `'redis.image' must be a Redis release with the fixes for CVE-2025-49844 and CVE-2025-21605 (7.2.11, 7.4.6, 8.0.4, 8.2.2 or a later patch of the same line, or a line after 8.2), got "redis:7.4.5"`],
    [{ clientImage: 'redis:7.0.15' }, `'redis.clientImage' must be a Redis release with the fixes for CVE-2025-49844 and CVE-2025-21605 (7.2.11, 7.4.6, 8.0.4, 8.2.2 or a later patch of the same line, or a line after 8.2), got "redis:7.0.15"`],
    [{ image: 'redis:bookworm' }, `'redis.image' must be tagged with its Redis version (e.g. "redis:7.2.11-bookworm"), got "redis:bookworm"`],
    [{ image: 'redis:7.2.11@sha256:abc' }, `'redis.image' may end in a digest only as "@sha256:" and 64 lower-case hex digits, got "redis:7.2.11@sha256:abc"`],
    [{ queues: ['job*'] }, `'redis.queues[0]' must be letters, digits, '_', '.', ':' and '-' (it becomes an ACL key pattern), got "job*"`],
    [{ adminSecret: 'Redis_Admin' }, `'redis.adminSecret' must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 253 characters), got "Redis_Admin"`],
    [{ users: [{ name: 'admin', rules: [], passwordSecret: { name: 'x' } }] }, `'redis.users' must not repeat a user name or use "admin", got "admin" twice`],
    [{ users: [{ name: 'default', rules: [], passwordSecret: { name: 'x' } }] }, `'redis.users[0].name' must be lower-case letters, digits, '-' and '_' and not "default", got "default"`],
    [{ users: [{ name: 'exporter', rules: ['+info', '>hunter2'], passwordSecret: { name: 'x' } }] }, `'redis.users[0].rules' must be ACL rules without passwords or on/off/reset (a password comes from 'passwordSecret'), got ">hunter2"`],
    [{ users: [{ name: 'exporter', rules: ['(+get nopass)'], passwordSecret: { name: 'x' } }] }, `'redis.users[0].rules' must be ACL rules without passwords or on/off/reset (a password comes from 'passwordSecret'), got "(+get nopass)"`],
    [{ terminationGracePeriodSeconds: 0 }, `'redis.terminationGracePeriodSeconds' must be a positive integer, got 0`],
    [{ disabledCommands: ['FLUSHALL', 'llen'] }, `'redis.disabledCommands' must not contain LLEN: the workers and their wait-for-work gate need it`],
    [{ priorityClassName: 'High_Priority' }, `'redis.priorityClassName' must be a DNS subdomain (DNS labels joined by '.', at most 253 characters), got "High_Priority"`],
  ])('refuses %j', (props, message) => {
    expect(() => synthRedis(props as RedisQueueStoreProps)).toThrow(message);
  });
});
