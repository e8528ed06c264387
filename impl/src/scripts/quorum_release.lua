-- Release a fair quorum lock on one master (compare-and-delete) and wake
-- the oldest live waiter there (see impl/src/redlock/queue.rs).
--
-- KEYS[1]  the lock key K
-- KEYS[2]  the queue K:q
-- KEYS[3]  the releaser's liveness key K:w:<id> (any key when ARGV[2] is '')
-- ARGV[1]  the token to delete
-- ARGV[2]  the releaser's waiter id, to leave the queue where an attempt
--          that won left it queued; '' for an attempt that lost (its
--          waiter keeps its place)
--
-- Returns 1 if the key was deleted (it was ours), 0 if not. Wakes the head
-- whenever the lock is free afterwards, so that a lease that ran out moves
-- the queue too.
local lock, queue, alive = KEYS[1], KEYS[2], KEYS[3]
local token, id = ARGV[1], ARGV[2]

local removed = 0
if redis.call('GET', lock) == token then
  removed = redis.call('DEL', lock)
end
if id ~= '' then
  redis.call('ZREM', queue, id)
  redis.call('DEL', alive)
end
if redis.call('EXISTS', lock) == 1 then
  return removed
end

while true do
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  if not head then
    return removed
  end
  if redis.call('EXISTS', lock .. ':w:' .. head) == 1 then
    local theirs = lock .. ':g:' .. head
    if redis.call('LLEN', theirs) == 0 then
      redis.call('RPUSH', theirs, 1)
      redis.call('PEXPIRE', theirs, redis.call('PTTL', lock .. ':w:' .. head))
    end
    return removed
  end
  redis.call('ZREM', queue, head)
end
