-- One release of a re-entrant lock: one level given back.
--
-- KEYS[1]  the lock key (a hash)
-- ARGV[1]  the owner id
-- ARGV[2]  the fencing token of the grant released ('' for none: any of
--          the owner's holds)
--
-- Returns -1 when the lock is not the owner's hold of that grant (gone,
-- another's, or a later tenure of the owner's: nothing is touched), 0 when
-- this was the last level and the key is deleted, and the count left
-- otherwise. Naming the grant's fencing token keeps a late release of an
-- ended tenure (a task of the owner that lost a race) from giving back a
-- level of the next one.
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return -1
end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'fence') ~= ARGV[2] then
  return -1
end
local count = redis.call('HINCRBY', KEYS[1], 'count', -1)
if count <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
return count
