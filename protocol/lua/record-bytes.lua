-- record-bytes.lua: the size in bytes of the dedupe record's shards from ARGV[1] on, read at
-- once (e.g. inside the MULTI of `status`, so that it agrees with the list lengths read there).
--
-- Usage: EVAL <script> 1 <Q:enqueued> <first shard index>

--- @include "record-shards"

return record_bytes(KEYS[1], tonumber(ARGV[1]))
