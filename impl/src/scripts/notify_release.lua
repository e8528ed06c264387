-- Release a lock and announce it on the lock's channel, so that waiters
-- subscribed there try again at once (see impl/src/wait/notify.rs).
--
-- KEYS[1]  the lock key
-- ARGV[1]  the caller's token; '' for the naive lock, whose release deletes
--          whatever lock is there (its bug, kept)
-- ARGV[2]  the channel, <key>:released
--
-- Returns 1 if a key was deleted (for a token: ours), 0 if not. Publishes
-- whenever the key is gone afterwards, so a waiter that missed an expiry
-- hears of the free lock too. A waiter that misses every message still
-- polls on its own bounded fallback.
local removed = 0
if ARGV[1] == '' or redis.call('GET', KEYS[1]) == ARGV[1] then
  removed = redis.call('DEL', KEYS[1])
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('PUBLISH', ARGV[2], 'free')
end
return removed
