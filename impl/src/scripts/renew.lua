-- Renew a lease only if it is still ours (compare-and-PEXPIRE).
--
-- KEYS[1]  the lock key
-- ARGV[1]  the holder's token
-- ARGV[2]  the new lease in milliseconds
--
-- Returns 1 if the key held the token and its TTL was set to ARGV[2] ms
-- (extended); 0 if the key is gone (the lease ran out, or someone deleted
-- it); -1 if the key holds another token (the lease ran out and another
-- client took the lock). Only 1 means "extended".
--
-- The script never SETs: it cannot create or re-create a key, only extend
-- one that still holds the token. A token is never written again once its
-- key is gone, so a renewal that reaches Redis after the holder's release
-- (or after the lease ran out) finds no key with its token and changes
-- nothing. GET and PEXPIRE run in one script, so no other client's command
-- can slip between the comparison and the extension.
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if current then
  return -1
end
return 0
