-- renew-unchecked's watchdog: a bare PEXPIRE, with no token check — the
-- mistake this protocol is there to show. It extends whatever key is there,
-- the holder's or, once its lease ran out, the next holder's.
--
-- KEYS[1]  the lock key
-- ARGV[1]  the new lease in milliseconds
--
-- Returns {1, value} when a key was extended, with the value the key held
-- (read *after* the PEXPIRE: the lab's eyes, so the history can say whose
-- lease was extended — not a check, it changes nothing); {0} when there was
-- no key.
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 1 then
  return {1, redis.call('GET', KEYS[1])}
end
return {0}
