-- Write to the plain (unfenced) resource: accept everything.
--
-- KEYS[1]  the resource's data
-- KEYS[2]  the log of accepted writes, one "-:<data>" entry each
-- ARGV[1]  the data
-- ARGV[2]  the most log entries to keep (0: keep no log)
--
-- Returns 1. The data and the log entry are written in one atomic step, so
-- the log is the exact order in which the resource saw the writes.
redis.call('SET', KEYS[1], ARGV[1])
local cap = tonumber(ARGV[2])
if cap > 0 then
  redis.call('RPUSH', KEYS[2], '-:' .. ARGV[1])
  redis.call('LTRIM', KEYS[2], -cap, -1)
end
return 1
