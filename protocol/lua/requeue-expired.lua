-- requeue-expired.lua: give back the work items of dead workers, atomically (one EVAL).
--
-- Used unchanged by the queue tool (`npm run queue -- requeue-expired`), by the recovery
-- CronJob (`redis-cli --eval` of this file mounted from a ConfigMap) and by the tests.
--
-- Usage (the KEYS/ARGV order is a fixed interface; the CronJob passes exactly these):
--   redis-cli --eval requeue-expired.lua <pending> <processing> <attempts> <unleasedSince> <deadLetter> \
--     , <leasePrefix> <graceSeconds> <maxAttempts> <dryRun 0|1> [<listItems 0|1>]
--   KEYS[1] pending        Q                       list workers BRPOPLPUSH from (right end)
--   KEYS[2] processing     Q:processing            items taken by a worker, not yet finished
--   KEYS[3] attempts       Q:attempts              hash item -> times recovery took it back
--   KEYS[4] unleasedSince  Q:unleased_since        hash item -> Redis time (ms) first seen unleased
--   KEYS[5] deadLetter     Q:dead_letter           list of items that failed maxAttempts times
--   ARGV[1] leasePrefix    Q:leased_by_session:    lease key = prefix .. sha224-hex(item bytes)
--   ARGV[2] graceSeconds   integer >= 0            how long an item must be seen unleased
--   ARGV[3] maxAttempts    integer >= 1            the Kth take-back dead-letters the item
--   ARGV[4] dryRun         0 | 1                   1: report only, write nothing
--   ARGV[5] listItems      0 | 1 (optional)        1: also return the items (for the queue tool)
--
-- Returns a flat array of integers (what redis-cli prints in the CronJob log, one per line):
--   1) requeued      items moved back to the pending list in this run
--   2) deadLettered  items moved to the dead-letter list in this run (attempts reached maxAttempts)
--   3) waiting       items without a lease still inside their grace period (or first seen now)
--   4) leased        items whose worker holds a live lease (untouched)
-- Counts are list entries of processing, so 1+2+3+4 = LLEN processing before the run.
-- With listItems=1, three arrays follow: the requeued, dead-lettered and waiting items.
-- With dryRun=1 the counts say what a real run would do now, but nothing is written, not even
-- first-seen times: an unleased item never seen before counts as `waiting` (a real run would
-- only start its grace period), an item whose recorded grace period has passed counts as
-- requeued or dead-lettered, and with graceSeconds=0 every unleased item counts as moved.
--
-- The workers' protocol (fixed; we do not own the images), for queue Q:
--   item = BRPOPLPUSH Q Q:processing <timeout>                        (1) take
--   SETEX Q:leased_by_session:<sha224-hex(item)> <lease_secs> <id>    (2) lease
--   ... work (S2: lease_secs = 1800) ...
--   LREM Q:processing 0 item ; DEL <lease key>                        (3) done
-- A worker that dies between (1) and (3) leaves its item in Q:processing forever, and no
-- worker exits while Q:processing is non-empty. An item is "expired" when it is in processing
-- and its lease key does not exist.
--
-- Why it is race-free against live workers (each run is one atomic script, so a worker's
-- commands happen entirely before or after it):
--   * Between (1) and (2) a live worker's item has no lease yet. So an unleased item is only
--     recorded (unleasedSince) on first sight, and moved once it has been seen unleased for
--     graceSeconds. A lease seen later clears the record. graceSeconds must exceed the
--     worker's (1)->(2) gap (milliseconds in practice); graceSeconds=0 trusts that gap is 0.
--   * A worker completes with LREM before DEL. Seen from here, its item is either still in
--     processing with the lease (untouched) or gone from processing (nothing to move), never
--     in processing without the lease. So a completing worker can neither lose nor duplicate it.
--   * A worker whose work outlives lease_secs loses its lease: its item is requeued and may be
--     processed twice (at-least-once). Its final LREM then finds nothing, or removes the new
--     holder's copy after the work was done once - nothing is lost either way.
--   * Moves remove exactly the copies they push (LREM count 1 per copy), so an item is never
--     both pending and processing, and copies this run did not decide about are left alone.

--- @include "sha224"

local pending, processing, attempts_key, unleased_key, dead_letter = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local lease_prefix = ARGV[1]
local grace_seconds = tonumber(ARGV[2])
local max_attempts = tonumber(ARGV[3])
local dry_run = ARGV[4]
local list_items = ARGV[5] or '0'

-- Fail loudly on a wrong call (a CronJob log shows the error), naming the argument.
local function check(ok, message)
  if not ok then return redis.error_reply('requeue-expired: ' .. message) end
end
local bad = check(#KEYS == 5, 'expected 5 keys (pending processing attempts unleasedSince deadLetter), got ' .. #KEYS)
  or check(lease_prefix ~= nil and lease_prefix ~= '', "'leasePrefix' (ARGV[1]) must be a non-empty key prefix")
  or check(grace_seconds ~= nil and grace_seconds >= 0 and grace_seconds % 1 == 0,
    "'graceSeconds' (ARGV[2]) must be an integer >= 0, got " .. tostring(ARGV[2]))
  or check(max_attempts ~= nil and max_attempts >= 1 and max_attempts % 1 == 0,
    "'maxAttempts' (ARGV[3]) must be an integer >= 1, got " .. tostring(ARGV[3]))
  or check(dry_run == '0' or dry_run == '1', "'dryRun' (ARGV[4]) must be 0 or 1, got " .. tostring(dry_run))
  or check(list_items == '0' or list_items == '1', "'listItems' (ARGV[5]) must be 0 or 1, got " .. tostring(list_items))
if bad then return bad end
dry_run = dry_run == '1'

local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- Count the copies of each distinct item, keeping first-seen order (lists are ~parallelism long).
local entries = redis.call('LRANGE', processing, 0, -1)
local copies, order = {}, {}
for _, item in ipairs(entries) do
  if copies[item] == nil then
    copies[item] = 0
    order[#order + 1] = item
  end
  copies[item] = copies[item] + 1
end

local requeued, dead_lettered, waiting, leased = 0, 0, 0, 0
local requeued_items, dead_items, waiting_items = {}, {}, {}

-- Moves every copy of `item` from processing to `target`, one LREM per pushed copy.
local function move(item, n, target, push)
  for _ = 1, n do
    redis.call('LREM', processing, 1, item)
    redis.call(push, target, item)
  end
  redis.call('HDEL', unleased_key, item)
end

for _, item in ipairs(order) do
  local n = copies[item]
  if redis.call('EXISTS', lease_prefix .. sha224_hex(item)) == 1 then
    -- A live worker holds it. Forget any unleased sighting from its take->lease gap.
    leased = leased + n
    if not dry_run then redis.call('HDEL', unleased_key, item) end
  else
    local since = tonumber(redis.call('HGET', unleased_key, item))
    local expired = grace_seconds == 0 or (since ~= nil and now_ms - since >= grace_seconds * 1000)
    if not expired then
      waiting = waiting + n
      waiting_items[#waiting_items + 1] = item
      if since == nil and not dry_run then redis.call('HSET', unleased_key, item, now_ms) end
    else
      local tries = (tonumber(redis.call('HGET', attempts_key, item)) or 0) + 1
      if not dry_run then redis.call('HSET', attempts_key, item, tries) end
      if tries >= max_attempts then
        dead_lettered = dead_lettered + n
        dead_items[#dead_items + 1] = item
        if not dry_run then
          move(item, n, dead_letter, 'RPUSH')
          redis.log(redis.LOG_WARNING, 'requeue-expired: dead-lettered after ' .. tries .. ' attempts: ' .. item)
        end
      else
        requeued = requeued + n
        requeued_items[#requeued_items + 1] = item
        -- LPUSH: workers pop from the right end, so the item goes to the back of the line. A
        -- poison item that kills its workers then waits behind all the others instead of
        -- killing the next worker at once, and the rest of the campaign keeps going.
        if not dry_run then
          move(item, n, pending, 'LPUSH')
          redis.log(redis.LOG_NOTICE, 'requeue-expired: requeued (attempt ' .. tries .. '): ' .. item)
        end
      end
    end
  end
end

-- Forget sightings of items that left processing (completed, or moved by someone else).
if not dry_run then
  for _, item in ipairs(redis.call('HKEYS', unleased_key)) do
    if copies[item] == nil then redis.call('HDEL', unleased_key, item) end
  end
end

if list_items == '1' then
  return { requeued, dead_lettered, waiting, leased, requeued_items, dead_items, waiting_items }
end
return { requeued, dead_lettered, waiting, leased }
