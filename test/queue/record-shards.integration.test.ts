/**
 * The dedupe record in shards (issue 10, point 1): `Q:enqueued`, then `Q:enqueued:1`, … each of
 * a bounded size, so that a long-lived queue never reaches Redis's maximum string size. Shards
 * are a few digests here ($ARD_RECORD_SHARD_BYTES), the tool runs compiled against a real
 * redis-server.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import Redis from 'ioredis';
import { sceneDigest } from '../../queue/digest';
import { UsageError } from '../../queue/errors';
import { sceneOfItem } from '../../queue/items';
import { BATCH_SIZE } from '../../queue/push';
import { recordShardBytes } from '../../queue/record';
import { runCli, spawnCli } from '../support/cli';
import { killWhenHeld, queuedInTransaction, RedisRelay } from '../support/redis-relay';
import { useRedisServer } from '../support/redis-server';
import { s2Item, sceneIds } from '../support/scenes';
import { waitFor } from '../support/wait';

const TMP = mkdtempSync(path.join(tmpdir(), 'ard-record-shards-'));
const fixture = useRedisServer();
let redis: Redis;
beforeAll(() => ({ redis } = fixture));
beforeEach(() => redis.flushall());

/** Ten digests per shard. */
const SHARD = { ARD_RECORD_SHARD_BYTES: String(10 * 16) };
const cli = (args: readonly string[], env: Record<string, string> = SHARD) => runCli([...args, '--redis-url', fixture.server.url], { env });
const enqueue = async (scenes: readonly string[], ...flags: string[]) => {
  const run = await cli(['enqueue', ...scenes, '--json', ...flags]);
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout);
};
const shardKey = (i: number) => (i === 0 ? 'jobS2:enqueued' : `jobS2:enqueued:${i}`);

/** The byte length of each shard, up to the first missing one. */
async function shardLengths(): Promise<number[]> {
  const lengths: number[] = [];
  for (let n = await redis.strlen(shardKey(0)); n > 0; n = await redis.strlen(shardKey(lengths.length))) lengths.push(n);
  return lengths;
}

/** The digests of every shard, hex, in order. */
async function recordedDigests(): Promise<string[]> {
  const digests: string[] = [];
  for (let i = 0; (await redis.exists(shardKey(i))) === 1; i++) {
    const bytes = await redis.getBuffer(shardKey(i));
    for (let at = 0; at < bytes!.length; at += 16) digests.push(bytes!.subarray(at, at + 16).toString('hex'));
  }
  return digests;
}

const hex = (scenes: readonly string[]) => scenes.map((s) => sceneDigest(s).toString('hex'));

test('a run appends to the last shard, or to a new one when the batch would not fit; dedupe reads every shard; status counts them', async () => {
  const scenes = sceneIds(28);
  // A record of the current one-string format, larger than a shard: it is shard 0, read as is.
  await redis.set(shardKey(0), Buffer.concat(scenes.slice(0, 12).map(sceneDigest)));
  expect(await enqueue(scenes.slice(0, 17))).toMatchObject({ pushed: 5, skippedEnqueuedBefore: 12 });
  expect(await shardLengths()).toEqual([12 * 16, 5 * 16]);
  expect(await enqueue(scenes.slice(10, 26))).toMatchObject({ pushed: 9, skippedEnqueuedBefore: 7 });
  expect(await shardLengths()).toEqual([12 * 16, 5 * 16, 9 * 16]); // 5 + 9 > 10: a new shard
  expect(await enqueue(scenes)).toMatchObject({ pushed: 2, skippedEnqueuedBefore: 26 });
  expect(await enqueue(scenes)).toMatchObject({ pushed: 0, skippedEnqueuedBefore: 28 });
  expect(await shardLengths()).toEqual([12 * 16, 5 * 16, 9 * 16, 2 * 16]);
  expect(await recordedDigests()).toEqual(hex([...scenes.slice(0, 12), ...scenes.slice(12, 17), ...scenes.slice(17, 26), ...scenes.slice(26)]));
  expect((await redis.lrange('jobS2', 0, -1)).map((i) => sceneOfItem(i)).sort()).toEqual(scenes.slice(12).sort());

  // --force records again, in the last shard.
  expect(await enqueue([scenes[0]], '--force')).toMatchObject({ pushed: 1 });
  expect(await shardLengths()).toEqual([12 * 16, 5 * 16, 9 * 16, 3 * 16]);
  await redis.rpush('jobS2:processing', (await redis.rpop('jobS2'))!);
  const status = await cli(['status', '--workflow', 's2', '--json']);
  expect(JSON.parse(status.stdout)).toMatchObject({ pending: 16, processing: 1, enqueued: 29, done: 12 });
});

test('reset-record rewrites every shard in shards of the configured size and removes the old ones beyond', async () => {
  const scenes = sceneIds(40);
  // Written as five runs of 8 scenes would (8 + 8 > 10: a shard each; shown in the first test).
  for (let i = 0; i < 5; i++) await redis.set(shardKey(i), Buffer.concat(scenes.slice(8 * i, 8 * i + 8).map(sceneDigest)));
  await redis.rpush('jobS2', ...scenes.slice(0, 23).map(s2Item)); // 23 still pending; 17 done
  const pending = (await redis.lrange('jobS2', 0, -1)).map((i) => sceneOfItem(i)!);
  const reset = await cli(['reset-record', '--json']);
  expect(JSON.parse(reset.stdout)).toMatchObject({ recordedBefore: 40, queuedItems: 23, recordedAfter: 23 });
  expect(await shardLengths()).toEqual([160, 160, 48]);
  expect((await recordedDigests()).sort()).toEqual(hex(pending).sort());
  expect(await redis.exists(shardKey(3), shardKey(4))).toBe(0);
  expect(await redis.keys('jobS2:force_snapshot:*')).toEqual([]);
  // The done scenes may be enqueued again; the pending ones are never pushed twice.
  expect(await enqueue(scenes)).toMatchObject({ pushed: 17, skippedEnqueuedBefore: 23 });
  expect(await redis.llen('jobS2')).toBe(40);
  // Nothing queued: the record is emptied, every shard gone.
  await redis.del('jobS2');
  expect(JSON.parse((await cli(['reset-record', '--json'])).stdout)).toMatchObject({ recordedBefore: 40, recordedAfter: 0 });
  expect(await redis.keys('jobS2:enqueued*')).toEqual([]);
});

test('a shard after a missing one is refused as a damaged record, nothing pushed; a bad shard size exits 2', async () => {
  await redis.set(shardKey(0), sceneDigest(sceneIds(1)[0]));
  await redis.set(shardKey(2), sceneDigest(sceneIds(2)[1]));
  const damaged = await cli(['enqueue', ...sceneIds(3)]);
  expect(damaged.code).toBe(1);
  expect(damaged.stderr).toBe('error: the dedupe record is damaged: jobS2:enqueued:2 exists but jobS2:enqueued:1 does not; rebuild it with reset-record; nothing pushed\n');
  expect(await redis.exists('jobS2')).toBe(0);
  const refusal = (bad: string) => `$ARD_RECORD_SHARD_BYTES must be a multiple of 16 from 16 to 67108864 (bytes per shard of the dedupe record), got '${bad}'`;
  // Each bad size is refused as a usage error; the tool exits 2 on it (one run shows it: the
  // same error, whatever the value, takes the same way out).
  for (const bad of ['100', '0', 'lots', String(128 * 1024 * 1024)]) {
    const parse = () => recordShardBytes({ ARD_RECORD_SHARD_BYTES: bad });
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(refusal(bad));
  }
  const run = await cli(['enqueue', ...sceneIds(3)], { ARD_RECORD_SHARD_BYTES: '100' });
  expect(run.code).toBe(2);
  expect(run.stderr).toContain(refusal('100'));
});

test('reset-record repairs a damaged record: shards after missing ones are replaced, then enqueue works', async () => {
  const scenes = sceneIds(20);
  // As one run of 13 scenes leaves them: one batch, shard 0 holds 13 digests.
  await redis.set(shardKey(0), Buffer.concat(scenes.slice(0, 13).map(sceneDigest)));
  await redis.rpush('jobS2', ...scenes.slice(0, 13).map(s2Item));
  // Shards 1 and 2 deleted by hand, 3 and 5 left; a key that is no shard (suffix not an index).
  await redis.set(shardKey(3), sceneDigest(scenes[13]));
  await redis.set(shardKey(5), sceneDigest(scenes[14]));
  await redis.set('jobS2:enqueued:note', 'not a shard');
  const damaged = await cli(['enqueue', ...scenes]);
  expect(damaged.code).toBe(1);
  expect(damaged.stderr).toBe('error: the dedupe record is damaged: jobS2:enqueued:3 exists but jobS2:enqueued:1 does not; rebuild it with reset-record; nothing pushed\n');
  const keysBefore = (await redis.keys('jobS2:enqueued*')).sort();
  expect(keysBefore).toEqual(['jobS2:enqueued', 'jobS2:enqueued:3', 'jobS2:enqueued:5', 'jobS2:enqueued:note']);

  const dryRun = await cli(['reset-record', '--dry-run', '--json']);
  expect(JSON.parse(dryRun.stdout)).toMatchObject({ dryRun: true, recordedBefore: 15, queuedItems: 13, recordedAfter: 13 });
  expect((await redis.keys('jobS2:enqueued*')).sort()).toEqual(keysBefore);

  const reset = await cli(['reset-record', '--json']);
  expect(reset.stderr).toBe('');
  expect(JSON.parse(reset.stdout)).toMatchObject({ dryRun: false, recordedBefore: 15, queuedItems: 13, recordedAfter: 13 });
  expect(await shardLengths()).toEqual([160, 48]);
  expect((await recordedDigests()).sort()).toEqual(hex(scenes.slice(0, 13)).sort());
  expect((await redis.keys('jobS2:enqueued*')).sort()).toEqual(['jobS2:enqueued', 'jobS2:enqueued:1', 'jobS2:enqueued:note']);
  expect(await redis.keys('jobS2:force_snapshot:*')).toEqual([]);
  expect(await enqueue(scenes)).toMatchObject({ pushed: 7, skippedEnqueuedBefore: 13 });
  expect(await redis.llen('jobS2')).toBe(20);
});

test('an interrupted run over many shards, then a re-run: every scene queued and recorded exactly once, no shard over its size', async () => {
  const count = 5 * BATCH_SIZE;
  const scenes = sceneIds(count);
  const file = path.join(TMP, 'many.txt');
  writeFileSync(file, scenes.join('\n') + '\n');
  const batchBytes = BATCH_SIZE * 16;
  const shardBytes = 2 * batchBytes + 2_000 * 16; // two batches to a shard: a third does not fit
  const shards = { ARD_RECORD_SHARD_BYTES: String(shardBytes) };
  // The killed run's lock lapses 2 s after its last refresh (every 2/3 s); the re-run's is the default.
  const env = { ...shards, ARD_ENQUEUE_LOCK_MS: '2000' };
  // Killed with three batches done (two shards, the second half full), the fourth's
  // transaction open in Redis (its commands queued, its EXEC held back), the rest not sent.
  const relay = await RedisRelay.start(fixture.server.port, { holdAt: { nth: 4, command: 'EXEC' } });
  const child = spawnCli(['enqueue', '--file', file, '--redis-url', relay.url], { stdio: 'ignore', env });
  await killWhenHeld(child, relay, async () => (await redis.llen('jobS2')) >= 3 * BATCH_SIZE && (await queuedInTransaction(redis)) > 0);
  const partial = await redis.llen('jobS2');
  expect(partial).toBe(3 * BATCH_SIZE);
  expect(await shardLengths()).toEqual([2 * batchBytes, batchBytes]); // whole batches only

  // Polled every 50 ms: the lock has up to two seconds to go.
  await waitFor("the killed run's lock to expire", async () => ((await redis.exists('jobS2:enqueue_lock')) === 0 ? true : undefined), 10_000, 50);
  const rerun = await runCli(['enqueue', '--file', file, '--redis-url', fixture.server.url, '--json'], { env: shards });
  expect(rerun.stderr).toBe('');
  expect(JSON.parse(rerun.stdout)).toMatchObject({ pushed: count - partial, skippedEnqueuedBefore: partial });
  // The re-run's first batch fills the half-full shard; the next one, not fitting, starts a new one.
  expect(await shardLengths()).toEqual([2 * batchBytes, 2 * batchBytes, batchBytes]);
  const items = new Set(await redis.lrange('jobS2', 0, -1));
  expect(items.size).toBe(count);
  expect(scenes.filter((scene) => !items.has(s2Item(scene)))).toEqual([]);
  // The record holds as many digests as there are scenes, and a dedupe run, reading every
  // shard, finds each scene there: each is recorded exactly once. (That the digests are
  // MurmurHash3 of the scene IDs, in every shard, the first test shows.)
  const again = await runCli(['enqueue', '--file', file, '--redis-url', fixture.server.url, '--dry-run', '--json'], { env: shards });
  expect(JSON.parse(again.stdout)).toMatchObject({ pushed: 0, skippedEnqueuedBefore: count });
  const status = await cli(['status', '--workflow', 's2', '--json']);
  expect(JSON.parse(status.stdout)).toMatchObject({ pending: count, enqueued: count, done: 0 });
}, 60_000);
