-- Release a FIFO lock and hand it at once to the oldest live waiter, waking
-- that waiter through its own list (see impl/src/wait/fifo.rs).
--
-- KEYS[1]  the lock key K
-- KEYS[2]  the queue K:q
-- KEYS[3]  the fence counter K:fence (only touched when ARGV[2] is '1')
-- ARGV[1]  the caller's token; '' for the naive lock, whose release deletes
--          whatever lock is there (its bug, kept)
-- ARGV[2]  '1' for a fenced lock, else '0'
--
-- Returns {removed, handed}: removed is 1 when a key was deleted (for a
-- token: ours), 0 when nothing of ours was there; handed is 1 when the
-- lock went on to a waiter. A lock found free (our lease ran out) is handed
-- on too, so a slow release still moves the queue.
local lock, queue, counter = KEYS[1], KEYS[2], KEYS[3]
local token, fenced = ARGV[1], ARGV[2] == '1'

local removed = 0
if token == '' or redis.call('GET', lock) == token then
  removed = redis.call('DEL', lock)
end
if redis.call('EXISTS', lock) == 1 then
  return {removed, 0}
end

while true do
  local head = redis.call('LPOP', queue)
  if not head then
    return {removed, 0}
  end
  local w = lock .. ':w:' .. head
  local entry = redis.call('GET', w)
  if entry then
    redis.call('DEL', w)
    local sep = string.find(entry, ':', 1, true)
    local ttl = string.sub(entry, 1, sep - 1)
    redis.call('SET', lock, string.sub(entry, sep + 1), 'PX', ttl)
    local fence = 0
    if fenced then
      fence = redis.call('INCR', counter)
    end
    local g = lock .. ':g:' .. head
    redis.call('RPUSH', g, fence)
    redis.call('PEXPIRE', g, ttl)
    return {removed, 1}
  end
end
