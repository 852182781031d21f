-- requeue-expired.lua: give back the work items of dead workers, a bounded chunk per call.
--
-- Used unchanged by the queue tool (`npm run queue -- requeue-expired`), by the recovery
-- CronJob (a shell loop of `redis-cli --eval` of this file mounted from a ConfigMap) and by
-- the tests.
--
-- Usage (the KEYS/ARGV order is a fixed interface; the CronJob passes exactly these):
--   redis-cli --eval requeue-expired.lua <pending> <processing> <attempts> <unleasedSince> <deadLetter> \
--     , <leasePrefix> <graceSeconds> <maxAttempts> <dryRun 0|1> [<listItems 0|1> [<cursor> [<chunk>]]]
--   KEYS[1] pending        Q                       list workers BRPOPLPUSH from (right end)
--   KEYS[2] processing     Q:processing            items taken by a worker, not yet finished
--   KEYS[3] attempts       Q:attempts              hash item -> times recovery took it back
--   KEYS[4] unleasedSince  Q:unleased_since        hash item -> Redis time (ms) first seen unleased
--   KEYS[5] deadLetter     Q:dead_letter           list of items that failed maxAttempts times
--   ARGV[1] leasePrefix    Q:leased_by_session:    lease key = prefix .. sha224-hex(item bytes)
--   ARGV[2] graceSeconds   integer >= 0            how long an item must be seen unleased
--   ARGV[3] maxAttempts    integer >= 1            the Kth take-back dead-letters the item
--   ARGV[4] dryRun         0 | 1                   1: report only, write nothing
--   ARGV[5] listItems      0 | 1 (default 0)       1: also return the items (for the queue tool)
--   ARGV[6] cursor         (default 0)             0 starts a run; then the cursor the last call returned
--   ARGV[7] chunk          integer >= 1            processing entries one call looks at (default 200)
--
-- A run is a loop of calls, like SCAN: the first with cursor 0, each next one with the cursor
-- the call before returned, until a call returns cursor 0. Each call looks at no more than
-- `chunk` entries of processing (from its tail: the oldest first; each costs a SHA-224 in
-- Lua, ~0.1 ms, so 200 take ~25 ms), then, once the whole list is seen, cleans up
-- unleasedSince in pieces of a bounded cost, so that no call holds Redis for long (workers
-- would get BUSY) whatever the lists' lengths. A call stopped half-way (the CronJob's timeout, a lost connection) leaves the
-- queue consistent: every call is atomic, and the next run starts afresh.
--
-- Returns a flat array, per call (what redis-cli prints, one per line; the CronJob sums them):
--   1) requeued      items moved back to the pending list in this call
--   2) deadLettered  items moved to the dead-letter list in this call (attempts reached maxAttempts)
--   3) waiting       items without a lease still inside their grace period (or first seen now)
--   4) leased        items whose worker holds a live lease (untouched)
--   5) cursor        the cursor of the next call; 0 when the run is done
-- Counts are list entries of processing: summed over a run, 1+2+3+4 = LLEN processing at its
-- start when no worker takes or completes items meanwhile (see "between calls" below).
-- A bad argument, or pending, processing or deadLetter existing as a type other than list,
-- fails the call with an error reply naming it, before anything is written.
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
-- Why it is race-free against live workers (each call is atomic, so a worker's commands
-- happen entirely before or after it):
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
--   * A move removes exactly the entry it looked at (LSET to a tombstone, then one LREM of the
--     tombstones from the tail), so an item is never both pending and processing.
-- Between calls: workers push taken items at the head of processing and remove completed ones
-- anywhere. The cursor counts entries from the tail, which a push at the head leaves alone. A
-- removal behind the cursor moves the entries not yet seen tailwards: the next call finds its
-- place again by the entry looked at last (the cursor's anchor), within `chunk` entries. Only
-- when that very entry left processing too can an entry be passed over by the run: it stays
-- in processing, untouched, for the next run (a delay of one run, never a loss or a second copy).
-- Clean-up: a sighting in unleasedSince of an item no longer in processing is deleted, so that
-- the item, if taken again later, gets a full grace period again. Sightings recorded in this
-- run are kept without looking; each older one is looked for in processing (LPOS), as many per
-- call as keep the call under ~CLEANUP_SCAN_BUDGET list entries scanned.

--- @include "sha224"

local DEFAULT_CHUNK = 200
-- List entries the clean-up may scan per call (LPOS: about 10 ms per million entries).
local CLEANUP_SCAN_BUDGET = 2000000
-- What a moved entry is set to until the LREM that removes it: no JSON item, nor any text item,
-- holds a NUL byte. One left by a failed call is removed by the next call that meets it.
local TOMBSTONE = '\0requeue-expired: moved\0'

local pending, processing, attempts_key, unleased_key, dead_letter = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local lease_prefix = ARGV[1]
local grace_seconds = tonumber(ARGV[2])
local max_attempts = tonumber(ARGV[3])
local dry_run = ARGV[4]
local list_items = ARGV[5] or '0'
local cursor = ARGV[6] or '0'
local chunk = tonumber(ARGV[7] or DEFAULT_CHUNK)

-- Fail loudly on a wrong call (a CronJob log shows the error), naming the argument.
local function check(ok, message)
  if not ok then return redis.error_reply('requeue-expired: ' .. message) end
end
-- The cursor: 0 starts a run; '<pass>:<offset>:<anchor>' continues the scan of processing
-- <offset> entries from its tail, where the entry last looked at, whose SHA-1 starts with
-- <anchor>, should be; '<pass>:h<hscan cursor>' continues the clean-up of unleasedSince.
-- <pass> is the Redis time (ms) at which the run started.
local pass, position, anchor = string.match(cursor, '^(%d+):(%d+):(%x+)$')
if pass == nil then pass, position = string.match(cursor, '^(%d+):(h%d+)$') end
local bad = check(#KEYS == 5, 'expected 5 keys (pending processing attempts unleasedSince deadLetter), got ' .. #KEYS)
  or check(lease_prefix ~= nil and lease_prefix ~= '', "'leasePrefix' (ARGV[1]) must be a non-empty key prefix")
  or check(grace_seconds ~= nil and grace_seconds >= 0 and grace_seconds % 1 == 0,
    "'graceSeconds' (ARGV[2]) must be an integer >= 0, got " .. tostring(ARGV[2]))
  or check(max_attempts ~= nil and max_attempts >= 1 and max_attempts % 1 == 0,
    "'maxAttempts' (ARGV[3]) must be an integer >= 1, got " .. tostring(ARGV[3]))
  or check(dry_run == '0' or dry_run == '1', "'dryRun' (ARGV[4]) must be 0 or 1, got " .. tostring(dry_run))
  or check(list_items == '0' or list_items == '1', "'listItems' (ARGV[5]) must be 0 or 1, got " .. tostring(list_items))
  or check(cursor == '0' or pass ~= nil,
    "'cursor' (ARGV[6]) must be 0 or a cursor a previous call returned, got " .. tostring(cursor))
  or check(chunk ~= nil and chunk >= 1 and chunk % 1 == 0, "'chunk' (ARGV[7]) must be an integer >= 1, got " .. tostring(ARGV[7]))
if bad then return bad end
-- The lists it writes must be lists or absent, checked before the first write: a push that
-- raised WRONGTYPE half-way would abort the call after earlier writes (Redis does not roll a
-- script back). A dry run checks too: it reports what a real run would do, and that would fail.
for _, key in ipairs({ pending, processing, dead_letter }) do
  local key_type = redis.call('TYPE', key)['ok']
  bad = check(key_type == 'list' or key_type == 'none', "key '" .. key .. "' is a " .. key_type .. ', not a list')
  if bad then return bad end
end
dry_run = dry_run == '1'

local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if cursor == '0' then pass, position = tostring(now_ms), '0' end

local requeued, dead_lettered, waiting, leased = 0, 0, 0, 0
local requeued_items, dead_items, waiting_items = {}, {}, {}
local next_cursor

local function reply()
  if list_items == '1' then
    return { requeued, dead_lettered, waiting, leased, next_cursor, requeued_items, dead_items, waiting_items }
  end
  return { requeued, dead_lettered, waiting, leased, next_cursor }
end

if string.sub(position, 1, 1) == 'h' then
  -- Clean-up: forget sightings of items that left processing (completed, or moved by someone
  -- else). Sightings recorded in this run (at or after its start) are of items seen in processing.
  local per_call = math.min(chunk, math.max(1, math.floor(CLEANUP_SCAN_BUDGET / math.max(1, redis.call('LLEN', processing)))))
  local scan = redis.call('HSCAN', unleased_key, string.sub(position, 2), 'COUNT', per_call)
  local fields = scan[2]
  for i = 1, #fields, 2 do
    local item, since = fields[i], tonumber(fields[i + 1])
    if (since == nil or since < tonumber(pass)) and redis.call('LPOS', processing, item) == false then
      redis.call('HDEL', unleased_key, item)
    end
  end
  next_cursor = scan[1] == '0' and '0' or (pass .. ':h' .. scan[1])
  return reply()
end

-- The scan of processing: the `chunk` entries from `offset` entries off the tail, oldest first.
local ANCHOR_HEX = 16
local function anchor_of(entry) return string.sub(redis.sha1hex(entry), 1, ANCHOR_HEX) end
local offset = tonumber(position)
if anchor ~= nil and offset > 0 and anchor_of(redis.call('LINDEX', processing, -offset) or '') ~= anchor then
  -- Entries behind the cursor left processing since the last call (completed, or moved by
  -- another run): the rest moved tailwards. Find the anchor again, nearest to where it was.
  local behind = redis.call('LRANGE', processing, -offset, -math.max(1, offset - chunk + 1))
  local moved_by = nil
  for k = 1, #behind do
    if anchor_of(behind[k]) == anchor then moved_by = k - 1; break end
  end
  if moved_by ~= nil then offset = offset - moved_by end
end
local entries = redis.call('LRANGE', processing, -(offset + chunk), -(offset + 1))
-- Tail offsets of each distinct item's entries in this chunk, keeping first-seen order.
local places, order = {}, {}
local tombstones = 0
for i = #entries, 1, -1 do
  local item = entries[i]
  local place = offset + #entries - i
  if item == TOMBSTONE then
    tombstones = tombstones + 1
  else
    if places[item] == nil then
      places[item] = {}
      order[#order + 1] = item
    end
    places[item][#places[item] + 1] = place
  end
end

-- Moves the entries of `item` at `at` (tail offsets) from processing to `target`.
-- Push first, then tombstone: should the push still raise (the type check above leaves no
-- known cause), the call aborts with this entry untouched in processing, never tombstoned and
-- lost. The LSET after it cannot fail (processing is a list, just read, and the call is
-- atomic), so no entry is ever both pushed and left in processing: a retried call finds either
-- both writes or neither, and makes no second copy.
local function move(item, at, target, push)
  for _, place in ipairs(at) do
    redis.call(push, target, item)
    redis.call('LSET', processing, -(place + 1), TOMBSTONE)
  end
  tombstones = tombstones + #at
  redis.call('HDEL', unleased_key, item)
end

for _, item in ipairs(order) do
  local at = places[item]
  local n = #at
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
          move(item, at, dead_letter, 'RPUSH')
          redis.log(redis.LOG_WARNING, 'requeue-expired: dead-lettered after ' .. tries .. ' attempts: ' .. item)
        end
      else
        requeued = requeued + n
        requeued_items[#requeued_items + 1] = item
        -- LPUSH: workers pop from the right end, so the item goes to the back of the line. A
        -- poison item that kills its workers then waits behind all the others instead of
        -- killing the next worker at once, and the rest of the campaign keeps going.
        if not dry_run then
          move(item, at, pending, 'LPUSH')
          redis.log(redis.LOG_NOTICE, 'requeue-expired: requeued (attempt ' .. tries .. '): ' .. item)
        end
      end
    end
  end
end

-- The tombstones are all in this chunk, the one nearest the tail that has any: LREM from the
-- tail stops after them.
if tombstones > 0 and not dry_run then redis.call('LREM', processing, -tombstones, TOMBSTONE) end
if #entries < chunk then
  -- The head is reached: the clean-up follows (a dry run writes nothing, so it has none).
  next_cursor = dry_run and '0' or (pass .. ':h0')
else
  -- Removed entries were all behind the cursor: the rest moved that many places tailwards.
  local next_offset = offset + #entries - (dry_run and 0 or tombstones)
  local last = next_offset > 0 and redis.call('LINDEX', processing, -next_offset)
  next_cursor = pass .. ':' .. next_offset .. ':' .. (last and anchor_of(last) or '0')
end
return reply()
