import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { RedisServer, useRedisServer } from '../../support/redis-server';

// The queue tool against what Redis, the input or the operator may do (issue 10). The tests are
// in several files, so that jest runs them side by side; each file has its own redis-server,
// emptied before each test.

export const TMP = mkdtempSync(path.join(tmpdir(), 'ard-queue-hardening-'));

export let server: RedisServer;
export let redis: Redis;

/** Starts the file's redis-server; every test starts on an empty server. */
export function useHardeningFixture(): void {
  const fixture = useRedisServer({ flushBeforeEach: true });
  beforeAll(() => {
    ({ server, redis } = fixture);
  });
}
