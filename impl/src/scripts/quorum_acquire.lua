-- Ask one Redlock master for the lock in arrival order: the fair quorum
-- lock (see impl/src/redlock/queue.rs).
--
-- KEYS[1]  the lock key K
-- KEYS[2]  the queue K:q, a sorted set of waiter ids scored by ticket
-- KEYS[3]  the fence counter K:fence (only touched when ARGV[6] is '1')
-- KEYS[4]  the caller's liveness key K:w:<id>
-- KEYS[5]  the caller's wake list K:g:<id>
-- ARGV[1]  the caller's waiter id
-- ARGV[2]  the attempt's token
-- ARGV[3]  the lease in milliseconds
-- ARGV[4]  the caller's ticket: when it began to wait, in microseconds on
--          its own clock, the same on every master, so that every master
--          orders the same waiters alike (ties by id)
-- ARGV[5]  the waiter lease in milliseconds: a queued waiter that stops
--          asking for this long counts as dead and is skipped
-- ARGV[6]  '1' for a fenced lock (every grant INCRs the counter), else '0'
--
-- Returns {1, fence} when the lock is now the caller's (fence 0 when not
-- fenced), {0} when it is refused and queued (or still queued). The lock
-- is granted exactly where SET NX would grant it — the key is absent —
-- and then only to the oldest live waiter: the queue adds refusals, never
-- a grant. Other waiters' keys are derived from K (K:w:<id>, K:g:<id>); on
-- Redis Cluster give K a hash tag. Every loop drops one queue entry per
-- turn, so it ends within the queue's length.
local lock, queue, counter, alive, wake = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, token, ttl, ticket, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local fenced = ARGV[6] == '1'

local function grant()
  redis.call('SET', lock, token, 'PX', ttl)
  if fenced then
    return {1, redis.call('INCR', counter)}
  end
  return {1, 0}
end

-- Nobody waits and the lock is free: the caller's, as SET NX would.
if redis.call('EXISTS', lock) == 0 and redis.call('EXISTS', queue) == 0 then
  return grant()
end

-- This look answers every wake-up sent so far.
redis.call('DEL', wake)

-- Join the queue at the caller's ticket (a waiter keeps its place across
-- its attempts), then find the oldest live waiter, dropping dead ones.
redis.call('ZADD', queue, 'NX', ticket, id)
local head
while true do
  head = redis.call('ZRANGE', queue, 0, 0)[1]
  if head == id or redis.call('EXISTS', lock .. ':w:' .. head) == 1 then
    break
  end
  redis.call('ZREM', queue, head)
end

redis.call('SET', alive, 1, 'PX', lease)
redis.call('PEXPIRE', queue, 2 * lease)
if redis.call('EXISTS', lock) == 0 then
  -- The caller stays queued: if its attempt loses elsewhere, its release
  -- here wakes it again, not the next in line; the release of the grant
  -- it wins takes it out of every queue.
  if head == id then
    return grant()
  end
  -- Free, and another's turn (a lease ran out, or its wake-up was lost):
  -- wake it, once.
  local theirs = lock .. ':g:' .. head
  if redis.call('LLEN', theirs) == 0 then
    redis.call('RPUSH', theirs, 1)
    redis.call('PEXPIRE', theirs, lease)
  end
end
return {0}
