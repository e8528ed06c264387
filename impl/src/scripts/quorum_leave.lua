-- A fair quorum waiter gives up on one master: leave the queue, and wake
-- the next live waiter if the lock is free (see impl/src/redlock/queue.rs).
--
-- KEYS[1]  the lock key K
-- KEYS[2]  the queue K:q
-- KEYS[3]  the caller's liveness key K:w:<id>
-- KEYS[4]  the caller's wake list K:g:<id>
-- ARGV[1]  the caller's waiter id
--
-- Returns 1 when the caller was queued here, 0 when not.
local lock, queue, alive, wake = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id = ARGV[1]

local was = redis.call('ZREM', queue, id)
redis.call('DEL', alive, wake)
if redis.call('EXISTS', lock) == 1 then
  return was
end
while true do
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  if not head then
    return was
  end
  if redis.call('EXISTS', lock .. ':w:' .. head) == 1 then
    local theirs = lock .. ':g:' .. head
    if redis.call('LLEN', theirs) == 0 then
      redis.call('RPUSH', theirs, 1)
      redis.call('PEXPIRE', theirs, redis.call('PTTL', lock .. ':w:' .. head))
    end
    return was
  end
  redis.call('ZREM', queue, head)
end
