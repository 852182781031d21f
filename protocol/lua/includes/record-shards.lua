-- The dedupe record Q:enqueued in shards (protocol/queue-keys.ts, recordShardKey): shard 0 is
-- Q:enqueued itself, shard i > 0 is Q:enqueued:<i>, each a string of 16-byte digests. Shards
-- are filled in order and never empty, so the record ends at the first missing one.

-- The bytes of shards `from`, `from` + 1, ... of `record` (STRLEN of each, 0 for a missing key).
local function record_bytes(record, from)
  local total, index = 0, from
  while true do
    local bytes = redis.call('STRLEN', index == 0 and record or (record .. ':' .. index))
    if bytes == 0 then return total end
    total = total + bytes
    index = index + 1
  end
end
