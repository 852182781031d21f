-- Atomically records and pushes one batch of scenes (one EVALSHA per batch).
--
-- KEYS[1]  the pending list Q (workers BRPOPLPUSH from its right end)
-- KEYS[2]  Q:enqueued, a hash scene ID -> id of the enqueue run that recorded it
-- ARGV[1]  this run's id
-- ARGV[2]  'dedupe': push scenes never recorded before;
--          'force':  push every scene not yet recorded by this run (the caller has already
--                    left out scenes whose item is pending or processing)
-- ARGV[3]  item bytes before the scene ID, ARGV[4] item bytes after it
-- ARGV[5…] scene IDs (validated and JSON-safe)
--
-- Returns {pushed, duplicates within this run's input, recorded by an earlier run}.
local run, force, prefix, suffix = ARGV[1], ARGV[2] == 'force', ARGV[3], ARGV[4]
local items, pushed, duplicate, earlier = {}, 0, 0, 0
for i = 5, #ARGV do
  local scene = ARGV[i]
  local new
  if force then
    new = redis.call('HGET', KEYS[2], scene) ~= run
    if new then redis.call('HSET', KEYS[2], scene, run) end
  else
    new = redis.call('HSETNX', KEYS[2], scene, run) == 1
  end
  if new then
    pushed = pushed + 1
    items[pushed] = prefix .. scene .. suffix
  elseif force or redis.call('HGET', KEYS[2], scene) == run then
    duplicate = duplicate + 1
  else
    earlier = earlier + 1
  end
end
-- unpack() is bounded by Lua's C stack (about 8000 values): push in slices.
for i = 1, pushed, 4000 do
  redis.call('RPUSH', KEYS[1], unpack(items, i, math.min(i + 3999, pushed)))
end
return {pushed, duplicate, earlier}
