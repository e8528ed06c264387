-- Release a lock only if it is still ours (compare-and-delete).
--
-- KEYS[1]  the lock key
-- ARGV[1]  the caller's token
--
-- Returns 1 if the key held the token and was deleted; 0 if the key is gone
-- (the lease ran out) or holds another client's token (it was taken since).
-- GET and DEL run in one script, so no other client's SET can slip between
-- the comparison and the delete.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
