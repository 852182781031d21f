import { execFile } from 'child_process';
import { promisify } from 'util';
import Redis from 'ioredis';
import { committedObject } from '../support/manifests';
import { useRedisServer } from '../support/redis-server';

// What KEDA's redis scaler sends (kedacore/keda pkg/scalers/redis_scaler.go, go-redis v9):
// HELLO 3 and PING when it connects, then at every poll this script, verbatim, with
// KEYS[1] = the trigger's listName. Run against the ACL users as dist/keda defines them.
const KEDA_LIST_LENGTH_SCRIPT = `
		local listName = KEYS[1]
		local listType = redis.call('type', listName).ok
		if listType == 'zset' then
			return redis.call('zcard', listName)
		elseif listType == 'set' then
			return redis.call('scard', listName)
		elseif listType == 'hash' then
			return redis.call('hlen', listName)
		elseif listType == 'list' or listType == 'none' then
			return redis.call('llen', listName)
		else
			return redis.error_reply('ERR unsupported key type: ' .. listType)
		end
	`;
const PASSWORD = 'test-keda-password-0123456789';

/** The rules of `user` in the committed ACL template of dist/keda (without the leading `on`). */
function committedRules(user: string): string[] {
  const acl: string = committedObject('keda', 'ConfigMap', 'redis-config').data['users.acl'];
  const line = acl.split('\n').find((l) => l.startsWith(`user ${user} `));
  if (line === undefined) throw new Error(`dist/keda defines no ACL user ${user}`);
  return line.split(' ').slice(2).filter((r) => r !== 'on');
}

const fixture = useRedisServer();
let keda: Redis;
let anonymous: Redis;
let admin: Redis;

beforeAll(async () => {
  await fixture.redis.call('ACL', 'SETUSER', 'admin', 'on', `>${PASSWORD}`, '~*', '+@all');
  // The password after the rules: they start with resetpass, as the ACL file's do.
  await fixture.redis.call('ACL', 'SETUSER', 'keda', 'on', ...committedRules('keda'), `>${PASSWORD}`);
  await fixture.redis.call('ACL', 'SETUSER', 'default', ...committedRules('default'));
  // No ready check (INFO), no CLIENT SETINFO: neither user may run them.
  const options = { enableReadyCheck: false, maxRetriesPerRequest: 0, disableClientInfo: true };
  keda = fixture.connect({ ...options, username: 'keda', password: PASSWORD });
  anonymous = fixture.connect(options);
  admin = fixture.connect({ ...options, username: 'admin', password: PASSWORD });
});
beforeEach(async () => {
  await admin.del('jobS2');
});

test('the KEDA user connects as go-redis does: HELLO 3 with its credentials, then PING', async () => {
  // redis-cli -3 opens with HELLO 3 AUTH <user> <password>, as go-redis v9 does.
  const { stdout } = await promisify(execFile)('redis-cli',
    ['-3', '-h', '127.0.0.1', '-p', String(fixture.server.port), '--user', 'keda', '--pass', PASSWORD, '--no-auth-warning', 'PING']);
  expect(stdout.trim()).toBe('PONG');
});

test('the KEDA user reads the length of the workflow\'s list with the scaler\'s script', async () => {
  await admin.rpush('jobS2', 'a', 'b', 'c');
  expect(await keda.ping()).toBe('PONG');
  expect(await keda.eval(KEDA_LIST_LENGTH_SCRIPT, 1, 'jobS2')).toBe(3);
  await admin.del('jobS2');
  expect(await keda.eval(KEDA_LIST_LENGTH_SCRIPT, 1, 'jobS2')).toBe(0);
  expect(await admin.llen('jobS2')).toBe(0);
});

test('the KEDA user can do nothing else: no other key, no write, not even through its script', async () => {
  await expect(keda.eval(KEDA_LIST_LENGTH_SCRIPT, 1, 'jobS2:processing')).rejects.toThrow(/NOPERM/);
  await expect(keda.rpush('jobS2', 'x')).rejects.toThrow(/NOPERM/);
  await expect(keda.eval("return redis.call('rpush', KEYS[1], 'x')", 1, 'jobS2')).rejects.toThrow(/can't run this command/);
  await expect(keda.call('INFO')).rejects.toThrow(/NOPERM/);
  expect(await admin.llen('jobS2')).toBe(0);
});

test('the unauthenticated user cannot run the scaler\'s script: hence the KEDA user', async () => {
  await expect(anonymous.eval(KEDA_LIST_LENGTH_SCRIPT, 1, 'jobS2')).rejects.toThrow(/NOPERM.*'eval'/);
  expect(await anonymous.llen('jobS2')).toBe(0);
});
