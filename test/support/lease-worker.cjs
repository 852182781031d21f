#!/usr/bin/env node
// A test worker that follows the workers' `rediswq` lease protocol exactly (../DESIGN.md):
//   while LLEN Q + LLEN Q:processing > 0:
//     item = BRPOPLPUSH Q Q:processing <timeout>
//     SETEX Q:leased_by_session:<sha224 hex of item> <lease_secs> <session>
//     ... work ...
//     LREM Q:processing 0 item ; DEL the lease key
//   exit 0
// It runs as its own process so that tests can SIGKILL it mid-item, as an OOM kill would.
//
// Options (environment):
//   REDIS_URL       redis://127.0.0.1:PORT
//   QUEUE           queue name (default jobS2)
//   LEASE_SECS      lease time-to-live (default 1800, as the S2 image)
//   TIMEOUT_SECS    BRPOPLPUSH blocking timeout (default 2)
//   WORK_MS         time spent "processing" each item (default 0)
//   LEASE_DELAY_MS  pause between the take and the lease (default 0): a slow network or a stalled
//                   worker, which recovery's grace period must cover
//   POISON          an item containing this text kills the worker (SIGKILL) while it holds it
//   DIE_AFTER       SIGKILL itself while holding its Nth item (1-based)
// A taken item is printed as one line `TAKE <item>`, its work finished as `WORKED <item>`
// (before the LREM, whose reply a crash of Redis can swallow), and completed as `DONE <item>`.
'use strict';
const crypto = require('crypto');
const Redis = require('ioredis');

const queue = process.env.QUEUE || 'jobS2';
const leaseSecs = Number(process.env.LEASE_SECS || 1800);
const timeoutSecs = Number(process.env.TIMEOUT_SECS || 2);
const workMs = Number(process.env.WORK_MS || 0);
const leaseDelayMs = Number(process.env.LEASE_DELAY_MS || 0);
const poison = process.env.POISON;
const dieAfter = Number(process.env.DIE_AFTER || 0);

const processingKey = `${queue}:processing`;
const leaseKey = (item) => `${queue}:leased_by_session:${crypto.createHash('sha224').update(item).digest('hex')}`;
const session = crypto.randomUUID();

// A worker that loses Redis crashes (the pod restarts it); it does not queue commands forever.
// lazyConnect + connect(): without an offline queue, commands sent before the connection is
// ready would fail at once, so connect first (and crash if Redis is not there).
const redis = new Redis(process.env.REDIS_URL, {
  maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true,
});
redis.on('error', () => {});

async function main() {
  await redis.connect();
  let taken = 0;
  while ((await redis.llen(queue)) + (await redis.llen(processingKey)) > 0) {
    const item = await redis.brpoplpush(queue, processingKey, timeoutSecs);
    if (item === null) continue; // "Waiting for work": another worker holds the rest
    if (leaseDelayMs > 0) await new Promise((r) => setTimeout(r, leaseDelayMs));
    await redis.setex(leaseKey(item), leaseSecs, session);
    taken += 1;
    process.stdout.write(`TAKE ${item}\n`);
    if ((poison && item.includes(poison)) || taken === dieAfter) process.kill(process.pid, 'SIGKILL');
    if (workMs > 0) await new Promise((r) => setTimeout(r, workMs));
    process.stdout.write(`WORKED ${item}\n`);
    await redis.lrem(processingKey, 0, item);
    await redis.del(leaseKey(item));
    process.stdout.write(`DONE ${item}\n`);
  }
  redis.disconnect();
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${err.message}\n`);
  redis.disconnect();
  process.exit(1);
});
