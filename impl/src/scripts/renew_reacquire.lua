-- renew-reacquire's watchdog: compare-and-PEXPIRE, and when the key is gone,
-- create it again with SET NX — the silent re-acquire of redsync's
-- WithSetNXOnExtend, the mistake this protocol is there to show: the
-- holder's lease was lost, anyone may have held the lock in between, and
-- the re-created key hides it.
--
-- KEYS[1]  the lock key
-- ARGV[1]  the holder's token
-- ARGV[2]  the new lease in milliseconds
--
-- Returns 1 (the key held the token: extended), 2 (the key was gone: created
-- again with the token), -1 (another token: nothing changed).
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then
  return -1
end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return 2
