#!/usr/bin/env node
// A test worker that follows the workers' `rediswq` lease protocol exactly (../DESIGN.md):
//   while LLEN Q + LLEN Q:processing > 0:
//     item = BRPOPLPUSH Q Q:processing <timeout>
//     SETEX Q:leased_by_session:<sha224 hex of item> <lease_secs> <session>
//     ... work ...
//     LREM Q:processing 0 item ; DEL the lease key
//   exit 0
// It runs as its own process so that tests can SIGKILL it mid-item, as an OOM kill would. It
// speaks RESP itself, one command at a time (no client library to load: tests start dozens).
//
// Options (environment):
//   REDIS_URL       redis://HOST:PORT (no user, password or database)
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
const net = require('net');

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

/**
 * One connection, one command in flight: `call(...args)` resolves to the reply (a string, a
 * number or null) and rejects on an error reply. A worker that loses Redis crashes (the pod
 * restarts it): once the connection fails or closes, every call rejects.
 */
function connect(url) {
  const { protocol, username, password, pathname, hostname, port } = new URL(url);
  if (protocol !== 'redis:' || username || password || !['', '/', '/0'].includes(pathname)) {
    throw new Error(`REDIS_URL must be redis://HOST:PORT (no user, password or database), got '${url}'`);
  }
  const socket = net.connect(Number(port || 6379), hostname.replace(/^\[(.*)\]$/, '$1'));
  let pending; // { resolve, reject } of the command in flight
  let lost;
  let buffer = Buffer.alloc(0);
  const fail = (err) => {
    lost = lost ?? err;
    pending?.reject(lost);
    pending = undefined;
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('connection closed')));
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    const end = buffer.indexOf('\r\n');
    if (end === -1 || !pending) return;
    const type = String.fromCharCode(buffer[0]);
    const head = buffer.toString('utf8', 1, end);
    let reply;
    let used = end + 2;
    if (type === '$') {
      const length = Number(head);
      if (length >= 0) {
        if (buffer.length < used + length + 2) return; // the rest of the bulk string is still to come
        reply = buffer.toString('utf8', used, used + length);
        used += length + 2;
      } else reply = null;
    } else if (type === '*' && head === '-1') reply = null; // a timed-out blocking pop
    else if (type === ':') reply = Number(head);
    else if (type === '+') reply = head;
    else if (type === '-') reply = new Error(head);
    else reply = new Error(`unexpected reply: ${buffer.toString('utf8', 0, end)}`);
    buffer = buffer.subarray(used);
    const { resolve, reject } = pending;
    pending = undefined;
    if (reply instanceof Error) reject(reply);
    else resolve(reply);
  });
  const ready = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    async call(...args) {
      await ready;
      if (lost) throw lost;
      if (pending) throw new Error('a command is already in flight');
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`);
      });
    },
    close: () => socket.destroy(),
  };
}

let redis;

async function main() {
  redis = connect(process.env.REDIS_URL);
  let taken = 0;
  while ((await redis.call('LLEN', queue)) + (await redis.call('LLEN', processingKey)) > 0) {
    const item = await redis.call('BRPOPLPUSH', queue, processingKey, timeoutSecs);
    if (item === null) continue; // "Waiting for work": another worker holds the rest
    if (leaseDelayMs > 0) await new Promise((r) => setTimeout(r, leaseDelayMs));
    await redis.call('SETEX', leaseKey(item), leaseSecs, session);
    taken += 1;
    process.stdout.write(`TAKE ${item}\n`);
    if ((poison && item.includes(poison)) || taken === dieAfter) process.kill(process.pid, 'SIGKILL');
    if (workMs > 0) await new Promise((r) => setTimeout(r, workMs));
    process.stdout.write(`WORKED ${item}\n`);
    await redis.call('LREM', processingKey, 0, item);
    await redis.call('DEL', leaseKey(item));
    process.stdout.write(`DONE ${item}\n`);
  }
  redis.close();
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${err.message}\n`);
  redis?.close();
  process.exit(1);
});
