import { createHash } from 'crypto';
import { DEFAULT_DISABLED_COMMANDS } from '../../lib/redis-config';
import { DEFAULT_REDIS_IMAGE, RedisQueueStore, RedisQueueStoreProps } from '../../lib/redis-queue-store';
import { ofKind, onlyOfKind, synthChart } from '../support/manifests';

const synthRedis = (props?: RedisQueueStoreProps) => synthChart((chart) => new RedisQueueStore(chart, 'redis', props));

// Every prop set, so that a new prop cannot go untested: the type fails to compile without it.
const ALL_PROPS: Required<RedisQueueStoreProps> = {
  image: 'redis:7.4.1-bookworm',
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

  test('defaults: pinned official image, persistent volume claim of 10Gi, probes, resources', () => {
    const statefulSet = onlyOfKind(synthRedis(), 'StatefulSet');
    const [redis] = statefulSet.spec.template.spec.containers;
    expect(redis.image).toBe(DEFAULT_REDIS_IMAGE);
    expect(DEFAULT_REDIS_IMAGE).toMatch(/^redis:7\.(2|[3-9])\.\d+/);
    expect(statefulSet.spec.volumeClaimTemplates).toEqual([expect.objectContaining({
      metadata: expect.objectContaining({ name: 'data' }),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
    })]);
    expect(redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(redis.readinessProbe.exec.command.join(' ')).toContain('redis-cli -p 6379 ping');
    expect(redis.livenessProbe.exec.command.join(' ')).toContain('LOADING');
    expect(redis.resources).toEqual({ requests: { cpu: '250m', memory: '2Gi' }, limits: { memory: '2Gi' } });
    expect(statefulSet.spec.template.spec.terminationGracePeriodSeconds).toBe(60);
  });

  test('all props reach the manifests', () => {
    const objects = synthRedis(ALL_PROPS);
    const statefulSet = onlyOfKind(objects, 'StatefulSet');
    const [redis] = statefulSet.spec.template.spec.containers;
    const conf = onlyOfKind(objects, 'ConfigMap').data['redis.conf'];
    expect(redis.image).toBe('redis:7.4.1-bookworm');
    expect(statefulSet.spec.volumeClaimTemplates[0].spec).toEqual({
      accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '50Gi' } },
    });
    expect(redis.resources).toEqual({ requests: { cpu: '1', memory: '8Gi' }, limits: { cpu: '2', memory: '8Gi' } });
    expect(conf).toContain('appendfsync everysec\n');
    expect(conf).toContain('maxmemory 4294967296\n'); // half of 8Gi, room for the AOF rewrite fork
    expect(conf.match(/^rename-command .*$/gm)).toEqual(['rename-command FLUSHALL ""']);
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

  test('redis.conf: AOF with fsync always, no RDB, noeviction, dangerous commands disabled', () => {
    const conf: string = onlyOfKind(synthRedis(), 'ConfigMap').data['redis.conf'];
    const lines = conf.split('\n');
    expect(lines).toEqual(expect.arrayContaining([
      'appendonly yes', 'appendfsync always', 'save ""', 'maxmemory-policy noeviction', 'maxmemory 1073741824',
    ]));
    for (const command of DEFAULT_DISABLED_COMMANDS) expect(lines).toContain(`rename-command ${command} ""`);
    expect(DEFAULT_DISABLED_COMMANDS).toEqual(expect.arrayContaining(['FLUSHALL', 'FLUSHDB', 'DEBUG']));
  });

  test('the pod carries a checksum of redis.conf, so a changed configuration rolls the pod', () => {
    const checksum = (props?: RedisQueueStoreProps) => {
      const objects = synthRedis(props);
      const conf = onlyOfKind(objects, 'ConfigMap').data['redis.conf'];
      const annotation = onlyOfKind(objects, 'StatefulSet').spec.template.metadata.annotations['checksum/redis-config'];
      expect(annotation).toBe(createHash('sha256').update(conf).digest('hex'));
      return annotation;
    };
    expect(checksum({ appendFsync: 'everysec' })).not.toBe(checksum());
  });

  test('the Redis container reads the mounted redis.conf and writes only /data', () => {
    const statefulSet = onlyOfKind(synthRedis(), 'StatefulSet');
    const [redis] = statefulSet.spec.template.spec.containers;
    expect(redis.command).toEqual(['redis-server', '/etc/redis/redis.conf', '--dir', '/data']);
    expect(redis.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(redis.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/redis', readOnly: true });
    expect(ofKind(synthRedis(), 'ConfigMap').map((c) => c.metadata.name)).toEqual(['redis-config']);
  });

  test.each([
    [{ image: 'redis' }, `'redis.image' must be pinned by a tag other than 'latest' (e.g. "satapps/ard-workflow-s2:0.4.0"), got "redis"`],
    [{ image: 'redis:latest' }, `'redis.image' must be pinned by a tag other than 'latest' (e.g. "satapps/ard-workflow-s2:0.4.0"), got "redis:latest"`],
    [{ appendFsync: 'no' as any }, `'redis.appendFsync' must be one of "always", "everysec", got "no"`],
    [{ resources: { cpu: '1', memory: 'lots' } }, `'redis.resources.memory' must be a memory quantity such as "512Mi" or "2Gi", got "lots"`],
    [{ disabledCommands: ['ping'] }, `'redis.disabledCommands' must not contain PING: the probes and the workers' init container need it`],
    [{ terminationGracePeriodSeconds: 0 }, `'redis.terminationGracePeriodSeconds' must be a positive integer, got 0`],
    [{ disabledCommands: ['FLUSHALL', 'llen'] }, `'redis.disabledCommands' must not contain LLEN: the workers and their wait-for-work gate need it`],
    [{ priorityClassName: 'High_Priority' }, `'redis.priorityClassName' must be a DNS subdomain (DNS labels joined by '.', at most 253 characters), got "High_Priority"`],
  ])('refuses %j', (props, message) => {
    expect(() => synthRedis(props as RedisQueueStoreProps)).toThrow(message);
  });
});
