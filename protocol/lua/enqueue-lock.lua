-- The enqueue lock of a queue (Q:enqueue_lock = run id), refreshed or released only by its holder.
--
-- KEYS[1]  Q:enqueue_lock
-- ARGV[1]  the run id
-- ARGV[2]  'release': DEL the lock; else a time-to-live in ms: PEXPIRE it
--
-- Returns 1 when the run held the lock, 0 when it did not (expired, or taken by another run).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'release' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
