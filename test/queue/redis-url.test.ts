import { redactUrl, resolveRedisUrl } from '../../queue/redis-url';



describe('redis URL', () => {
  test('redis URL: flag, then $REDIS_URL, then the port-forward default; passwords redacted in messages', () => {
    expect(resolveRedisUrl('redis://a:1', { REDIS_URL: 'redis://b:2' })).toBe('redis://a:1');
    expect(resolveRedisUrl(undefined, { REDIS_URL: 'redis://b:2' })).toBe('redis://b:2');
    expect(resolveRedisUrl(undefined, {})).toBe('redis://127.0.0.1:6379');
    expect(() => resolveRedisUrl('http://x', {})).toThrow("--redis-url must start with redis:// or rediss://, got 'http://x'");
    expect(redactUrl('redis://user:s3cret@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(redactUrl('redis://:s3cret@host:6379')).toBe('redis://:***@host:6379');
  });
});
