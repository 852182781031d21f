-- queue-metrics.lua: one consistent snapshot of every work queue, for the Redis exporter.
--
-- Run by oliver006/redis_exporter (`--script`) on every scrape as `EVAL <script> 0 0`: it
-- passes no KEYS, so lib/queue-metrics.ts prepends the queue names as `local QUEUES = {...}`.
-- Reads only: O(1) per queue (and per shard of its dedupe record: 64 MiB each), plus HVALS of
-- Q:unleased_since (at most one entry per item held by a dead worker). The exporter publishes each pair as redis_script_values{key="<name>"}.
--
-- Input:  QUEUES   the queue names (lib/workflows.ts), e.g. { "jobS2" }
-- Output: a flat array of name, value pairs, per queue Q:
--   Q:pending            LLEN Q                       items waiting for a worker
--   Q:processing         LLEN Q:processing            items a worker took and has not finished
--   Q:dead_letter        LLEN Q:dead_letter           items recovery gave up on
--   Q:recorded           STRLEN of the shards of Q:enqueued / 16: recordings in the dedupe record
--                        (one 16-byte digest each; shards Q:enqueued, Q:enqueued:1, ...)
--   Q:done               recorded - pending - processing - dead_letter, at least 0
--   Q:unleased_seconds   age of the oldest entry of Q:unleased_since (recovery's first sight of
--                        an item in processing without a lease), 0 when there is none
local DIGEST_BYTES = 16

--- @include "record-shards"

local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local out = {}
local function put(name, value)
  out[#out + 1] = name
  out[#out + 1] = tostring(value)
end
for _, q in ipairs(QUEUES) do
  local pending = redis.call('LLEN', q)
  local processing = redis.call('LLEN', q .. ':processing')
  local dead = redis.call('LLEN', q .. ':dead_letter')
  local recorded = math.floor(record_bytes(q .. ':enqueued', 0) / DIGEST_BYTES)
  local oldest
  for _, since in ipairs(redis.call('HVALS', q .. ':unleased_since')) do
    local ms = tonumber(since)
    if ms ~= nil and (oldest == nil or ms < oldest) then oldest = ms end
  end
  put(q .. ':pending', pending)
  put(q .. ':processing', processing)
  put(q .. ':dead_letter', dead)
  put(q .. ':recorded', recorded)
  put(q .. ':done', math.max(0, recorded - pending - processing - dead))
  put(q .. ':unleased_seconds', oldest == nil and 0 or math.max(0, (now_ms - oldest) / 1000))
end
return out
