-- retry-dead-letters.lua: put dead-lettered items back in the queue, atomically (one EVAL).
--
-- Usage: EVAL <script> 4 <pending> <processing> <attempts> <deadLetter> <dryRun 0|1> <item>...
-- For each item (exact bytes):
--   * not in the dead-letter list          -> 'missing' (e.g. retried meanwhile by someone else)
--   * already in pending or processing      -> 'queued': removed from the dead-letter list but not
--                                             pushed again, so it is never handed out twice
--   * otherwise                             -> 'retried': removed from the dead-letter list (all
--                                             copies), RPUSHed once to pending like a fresh
--                                             enqueue, and its attempt count reset
-- Returns one status string per item, in order. dryRun=1 returns the statuses, writes nothing.
-- Cost: LPOS scans pending once per item (O(LLEN pending)); dead letters are few.

local pending, processing, attempts_key, dead_letter = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local dry_run = ARGV[1]
if dry_run ~= '0' and dry_run ~= '1' then
  return redis.error_reply("retry-dead-letters: 'dryRun' (ARGV[1]) must be 0 or 1, got " .. tostring(dry_run))
end
dry_run = dry_run == '1'

local statuses = {}
for i = 2, #ARGV do
  local item = ARGV[i]
  local status
  if redis.call('LPOS', dead_letter, item) == false then
    status = 'missing'
  elseif redis.call('LPOS', pending, item) ~= false or redis.call('LPOS', processing, item) ~= false then
    status = 'queued'
    if not dry_run then redis.call('LREM', dead_letter, 0, item) end
  else
    status = 'retried'
    if not dry_run then
      redis.call('LREM', dead_letter, 0, item)
      redis.call('RPUSH', pending, item)
      redis.call('HDEL', attempts_key, item)
    end
  end
  statuses[#statuses + 1] = status
end
return statuses
