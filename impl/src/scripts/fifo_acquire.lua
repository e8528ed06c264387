-- Take a FIFO lock, or queue for it (the fair hand-off; see impl/src/wait/fifo.rs).
--
-- KEYS[1]  the lock key K
-- KEYS[2]  the queue K:q, a list of waiter ids, oldest first
-- KEYS[3]  the fence counter K:fence (only touched when ARGV[5] is '1')
-- KEYS[4]  the caller's wake list K:g:<id> (a hand-off pushes its grant here)
-- KEYS[5]  the caller's liveness key K:w:<id>, holding "<ttl>:<value>"
-- ARGV[1]  the caller's waiter id
-- ARGV[2]  the value the lock holds for the caller (its token, or 1)
-- ARGV[3]  the lease in milliseconds
-- ARGV[4]  the waiter lease in milliseconds: a queued waiter that stops
--          polling for this long counts as dead and is skipped
-- ARGV[5]  '1' for a fenced lock (every grant INCRs the counter), else '0'
--
-- Returns {1, fence} when the caller holds the lock (fence 0 when not
-- fenced), {0} when it is queued (or still queued, and alive for another
-- waiter lease).
--
-- Other waiters' keys are derived from K (K:w:<id>, K:g:<id>); on Redis
-- Cluster give K a hash tag so they share its slot. Every loop pops one
-- queue entry per turn, so it ends within the queue's length.
local lock, queue, counter, wake, alive = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, value, ttl, lease = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local fenced = ARGV[5] == '1'

local function grant(to_value, to_ttl)
  redis.call('SET', lock, to_value, 'PX', to_ttl)
  if fenced then
    return redis.call('INCR', counter)
  end
  return 0
end

-- Hands the free lock to the oldest live waiter; returns its id and fence,
-- or nil when no live waiter is queued (dead ones are dropped on the way).
local function promote()
  while true do
    local head = redis.call('LPOP', queue)
    if not head then
      return nil
    end
    local w = lock .. ':w:' .. head
    local entry = redis.call('GET', w)
    if entry then
      redis.call('DEL', w)
      local sep = string.find(entry, ':', 1, true)
      local fence = grant(string.sub(entry, sep + 1), string.sub(entry, 1, sep - 1))
      return head, fence
    end
  end
end

-- 1. Was the lock handed to the caller since its last look?
local handed = redis.call('LPOP', wake)
if handed then
  redis.call('DEL', wake)
  return {1, tonumber(handed)}
end

-- 2. A free lock (released with nobody alive to take it, or a holder's lease
--    ran out) goes to the oldest live waiter, or to the caller if none.
if redis.call('EXISTS', lock) == 0 then
  local winner, fence = promote()
  if winner == nil then
    redis.call('DEL', alive)
    return {1, grant(value, ttl)}
  end
  if winner == id then
    return {1, fence}
  end
  local g = lock .. ':g:' .. winner
  redis.call('RPUSH', g, fence)
  redis.call('PEXPIRE', g, ttl)
end

-- 3. Queue at the tail, or stay queued: refresh the liveness key.
if not redis.call('SET', alive, ttl .. ':' .. value, 'PX', lease, 'XX') then
  redis.call('SET', alive, ttl .. ':' .. value, 'PX', lease)
  redis.call('RPUSH', queue, id)
end
redis.call('PEXPIRE', queue, 2 * lease)
return {0}
