-- Commits or undoes one batch of an enqueue run. The client sends each batch as
--   MULTI; RPUSH Q <items…>; EVAL <this script>; EXEC
-- so that the items never pass through Lua: a plain multi-value RPUSH costs Redis ~0.09 µs per
-- item, while passing the items as ARGV of a script (Lua strings, then Redis objects again)
-- cost ~0.35 µs per item more, measured on 1M items. MULTI/EXEC runs the commands with no
-- other client in between, so this script sees the batch's items at the right end of Q.
-- MULTI/EXEC does not roll back the RPUSH when this script fails, so the script must undo the
-- push on every failure it can meet (lock lost, a record it cannot append to); and it is sent
-- by EVAL, not EVALSHA, so that a script cache flushed mid-run (NOSCRIPT) cannot fail it.
--
-- KEYS[1]  Q:enqueue_lock, holding the id of the run allowed to write to Q
-- KEYS[2]  the shard of the dedupe record Q:enqueued the client chose for this batch (Q:enqueued
--          or Q:enqueued:<i>, see queue/record.ts): a string of 16-byte scene digests (queue/digest.ts)
-- KEYS[3]  the pending list Q (workers BRPOPLPUSH from its right end)
-- KEYS[4]  Q:attempts, hash item -> times recovery took it back
-- ARGV[1]  this run's id
-- ARGV[2]  lock time-to-live in ms (refreshed by every batch)
-- ARGV[3]  the number of items the RPUSH before this script pushed
-- ARGV[4]  the digests of the batch's scenes, concatenated (binary)
--
-- Returns the number of items pushed. Fails, leaving nothing of the batch, when the run no
-- longer holds the lock (it expired and another run may have taken it: ARD_LOCK_LOST) or the
-- record cannot take the digests (not a string, or at Redis's maximum string size:
-- ARD_NOT_RECORDED). No per-item redis.call unless old attempt counts exist: the record is one
-- APPEND.
local is_list = redis.call('TYPE', KEYS[3]).ok == 'list'
local count = tonumber(ARGV[3])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  if is_list then redis.call('RPOP', KEYS[3], count) end
  return redis.error_reply('ARD_LOCK_LOST this run no longer holds ' .. KEYS[1])
end
-- The RPUSH failed (Q is not a list): record nothing; EXEC also reports the RPUSH's error.
if not is_list then return redis.error_reply('ARD_NOT_PUSHED ' .. KEYS[3] .. ' is not a list') end
local appended = redis.pcall('APPEND', KEYS[2], ARGV[4])
if type(appended) == 'table' and appended.err then
  redis.call('RPOP', KEYS[3], count)
  return redis.error_reply('ARD_NOT_RECORDED the batch was not pushed: the dedupe record ' .. KEYS[2] .. ' refused it: ' .. appended.err)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
-- A scene enqueued again starts from zero attempts (its old count outlived its item).
if redis.call('HLEN', KEYS[4]) > 0 then
  local items = redis.call('LRANGE', KEYS[3], -count, -1)
  for i = 1, #items, 1000 do
    redis.call('HDEL', KEYS[4], unpack(items, i, math.min(i + 999, #items)))
  end
end
return count
