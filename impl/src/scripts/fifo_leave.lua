-- A FIFO waiter gives up: leave the queue, and pass on a lock handed to it
-- after its last look (see impl/src/wait/fifo.rs).
--
-- KEYS[1]  the lock key K
-- KEYS[2]  the queue K:q
-- KEYS[3]  the fence counter K:fence (only touched when ARGV[3] is '1')
-- KEYS[4]  the caller's wake list K:g:<id>
-- KEYS[5]  the caller's liveness key K:w:<id>
-- ARGV[1]  the caller's waiter id
-- ARGV[2]  the value the lock would hold for the caller
-- ARGV[3]  '1' for a fenced lock, else '0'
--
-- Returns 1 when a lock had been handed to the caller and was passed on
-- (or freed), 0 when the caller simply left the queue.
local lock, queue, counter, wake, alive = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, value, fenced = ARGV[1], ARGV[2], ARGV[3] == '1'

redis.call('DEL', alive)
redis.call('LREM', queue, 0, id)
local handed = redis.call('LPOP', wake)
redis.call('DEL', wake)
if handed and redis.call('GET', lock) == value then
  redis.call('DEL', lock)
end
if redis.call('EXISTS', lock) == 1 then
  if handed then
    return 1
  end
  return 0
end

while true do
  local head = redis.call('LPOP', queue)
  if not head then
    break
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
    break
  end
end
if handed then
  return 1
end
return 0
