-- One release of a re-entrant lock: one level given back.
--
-- KEYS[1]  the lock key (a hash)
-- ARGV[1]  the owner id
--
-- Returns -1 when the lock is not the owner's (gone, or another's: nothing
-- is touched), 0 when this was the last level and the key is deleted, and
-- the count left otherwise.
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return -1
end
local count = redis.call('HINCRBY', KEYS[1], 'count', -1)
if count <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
return count
