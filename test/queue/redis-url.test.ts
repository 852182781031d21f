import { redactUrl, resolveRedisUrl } from '../../queue/redis-url';

describe('redis URL', () => {
  test('redis URL: flag, then $REDIS_URL, then the port-forward default; passwords redacted in messages', () => {
    expect(resolveRedisUrl('redis://a:1', { REDIS_URL: 'redis://b:2' })).toMatchObject({ host: 'a', port: 1, display: 'redis://a:1' });
    expect(resolveRedisUrl(undefined, { REDIS_URL: 'redis://b:2' })).toMatchObject({ host: 'b', port: 2 });
    expect(resolveRedisUrl(undefined, {})).toEqual({ display: 'redis://127.0.0.1:6379', host: '127.0.0.1', port: 6379, db: 0, tls: false, timeoutMs: 10_000 });
    expect(() => resolveRedisUrl('http://x', {})).toThrow("--redis-url must start with redis:// or rediss://, got 'http://x'");
    expect(redactUrl('redis://user:s3cret@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(redactUrl('redis://:s3cret@host:6379')).toBe('redis://:***@host:6379');
  });

  test('a password in any form is redacted, in parsed and unparseable URLs alike', () => {
    expect(redactUrl('redis://admin:p@ss:w/rd?x#y@host:6379/0')).toBe('redis://admin:***@host:6379/0');
    expect(redactUrl('redis://ad@min:secret@host')).toBe('redis://***@host');
    expect(redactUrl('redis://secret@host')).toBe('redis://***@host');
    expect(redactUrl('redis://host:6379/0?password=secret&x=1')).toBe('redis://host:6379/0?password=***&x=1');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
    const parsed = resolveRedisUrl('rediss://admin:p%40ss@h:7000/2', {});
    expect(parsed).toEqual({ display: 'rediss://admin:***@h:7000/2', host: 'h', port: 7000, db: 2, tls: true, username: 'admin', password: 'p@ss', timeoutMs: 10_000 });
    expect(resolveRedisUrl('redis://admin@h?password=p%26q', {})).toMatchObject({ display: 'redis://admin:***@h:6379', password: 'p&q' });
    expect(resolveRedisUrl('redis://admin@h', { REDIS_PASSWORD: 'pw' })).toMatchObject({ password: 'pw', username: 'admin' });
  });

  test('--timeout and $ARD_QUEUE_TIMEOUT: seconds from 0.1 to 3600', () => {
    expect(resolveRedisUrl(undefined, { ARD_QUEUE_TIMEOUT: '2.5' }).timeoutMs).toBe(2_500);
    expect(resolveRedisUrl(undefined, { ARD_QUEUE_TIMEOUT: '2.5' }, { timeout: '1' }).timeoutMs).toBe(1_000);
    expect(() => resolveRedisUrl(undefined, {}, { timeout: '0' })).toThrow("--timeout must be a number of seconds from 0.1 to 3600, got '0'");
    expect(() => resolveRedisUrl(undefined, { ARD_QUEUE_TIMEOUT: 'soon' })).toThrow("$ARD_QUEUE_TIMEOUT must be a number of seconds from 0.1 to 3600, got 'soon'");
  });
});
