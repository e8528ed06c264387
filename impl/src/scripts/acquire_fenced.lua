-- Take a lock and, in the same atomic step, issue its fencing token.
--
-- KEYS[1]  the lock key
-- KEYS[2]  the fence counter (never expires)
-- ARGV[1]  the caller's random token
-- ARGV[2]  the lease in milliseconds
--
-- Returns the new fencing token (1, 2, 3, ... per counter) if the lock was
-- free and is now ours; nil if another client holds it. The counter is only
-- incremented on a grant, and inside the script, so every grant gets a token
-- strictly greater than every earlier grant's.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
