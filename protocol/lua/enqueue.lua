-- Commits or undoes one batch of an enqueue run. The client sends each batch as
--   MULTI; RPUSH Q <items…>; EVALSHA <this script>; EXEC
-- so that the items never pass through Lua: a plain multi-value RPUSH costs Redis ~0.09 µs per
-- item, while passing the items as ARGV of a script (Lua strings, then Redis objects again)
-- cost ~0.35 µs per item more, measured on 1M items. MULTI/EXEC runs the three commands with
-- no other client in between, so this script sees the batch's items at the right end of Q.
--
-- KEYS[1]  Q:enqueue_lock, holding the id of the run allowed to write to Q
-- KEYS[2]  Q:enqueued, the dedupe record: a string of 16-byte scene digests (queue/digest.ts)
-- KEYS[3]  the pending list Q (workers BRPOPLPUSH from its right end)
-- ARGV[1]  this run's id
-- ARGV[2]  lock time-to-live in ms (refreshed by every batch)
-- ARGV[3]  the number of items the RPUSH before this script pushed
-- ARGV[4]  the digests of the batch's scenes, concatenated (binary)
--
-- Returns the number of items pushed. When the run no longer holds the lock (it expired and
-- another run may have taken it), removes the batch's items again and fails: nothing of the
-- batch stays. No per-item redis.call: the record is one APPEND.
local is_list = redis.call('TYPE', KEYS[3]).ok == 'list'
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  if is_list then redis.call('RPOP', KEYS[3], ARGV[3]) end
  return redis.error_reply('ARD_LOCK_LOST this run no longer holds ' .. KEYS[1])
end
-- The RPUSH failed (Q is not a list): record nothing; EXEC also reports the RPUSH's error.
if not is_list then return redis.error_reply('ARD_NOT_PUSHED ' .. KEYS[3] .. ' is not a list') end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('APPEND', KEYS[2], ARGV[4])
return tonumber(ARGV[3])
