import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Readable, Writable } from 'stream';
import Redis from 'ioredis';
import { main } from '../../../queue/cli';
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

/**
 * The tool's main() run in this process: its exit code and what it wrote to stderr. For usage
 * errors, which need no process of their own; the tests show each once through the built tool too.
 */
export async function runMain(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const collect = new Writable({ write: (chunk, _encoding, done) => ((stderr += String(chunk)), done()) });
  const code = await main(args, { stdin: Readable.from([]), stdout: discard, stderr: collect, env: {} });
  return { code, stderr };
}
