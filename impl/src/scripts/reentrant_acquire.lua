-- One acquire of a re-entrant lock: a hash {owner, count, fence, attempt}.
--
-- KEYS[1]  the lock key (a hash)
-- KEYS[2]  the fence counter (never expires)
-- ARGV[1]  the owner id
-- ARGV[2]  the attempt id ('' for none: every request counts)
-- ARGV[3]  the lease in milliseconds
-- ARGV[4]  '1' when the caller believes it holds the lock already (a
--          re-entry), '0' otherwise
-- ARGV[5]  '1' to refuse a re-entry whose hold is gone, '0' to take the lock
--          afresh then (Redisson's behaviour)
--
-- Returns {'granted', fence, count}, {'busy'}, or {'lost'}: a guarded
-- re-entry whose own hold ran out. The fencing token grows only when the
-- lock goes from free to held: a re-entry keeps the token it has. A request
-- sent again with the same attempt id is counted once.
local owner = redis.call('HGET', KEYS[1], 'owner')
local reentry = ARGV[4] == '1' and ARGV[5] == '1'
if owner == ARGV[1] then
  local fence = tonumber(redis.call('HGET', KEYS[1], 'fence'))
  if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'attempt') == ARGV[2] then
    return {'granted', fence, tonumber(redis.call('HGET', KEYS[1], 'count'))}
  end
  local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
  redis.call('HSET', KEYS[1], 'attempt', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'granted', fence, count}
end
if reentry then
  return {'lost'}
end
if owner then
  return {'busy'}
end
local fence = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'count', 1, 'fence', fence, 'attempt', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'granted', fence, 1}
