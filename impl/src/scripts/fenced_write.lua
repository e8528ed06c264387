-- Write to the fenced resource: accept only a fencing token that is not
-- lower than the highest accepted so far.
--
-- KEYS[1]  the resource's data
-- KEYS[2]  the highest fencing token accepted so far (absent: none yet)
-- KEYS[3]  the log of accepted writes, one "<fence>:<data>" entry each
-- ARGV[1]  the writer's fencing token (a decimal integer)
-- ARGV[2]  the data
-- ARGV[3]  the most log entries to keep (0: keep no log)
--
-- Returns {1, fence} if the write was accepted (data and highest stored,
-- log appended), {0, highest} if it was refused because a higher token has
-- been accepted. An equal token is accepted: the same holder may write more
-- than once. Lua numbers are doubles, so tokens are exact up to 2^53.
local fence = tonumber(ARGV[1])
local highest = tonumber(redis.call('GET', KEYS[2]) or '0')
if fence < highest then
  return {0, highest}
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
local cap = tonumber(ARGV[3])
if cap > 0 then
  redis.call('RPUSH', KEYS[3], ARGV[1] .. ':' .. ARGV[2])
  redis.call('LTRIM', KEYS[3], -cap, -1)
end
return {1, fence}
