-- Claim a unit before processing it: compare-and-set on the unit read.
--
-- KEYS[1]  the sync key
-- KEYS[2]  its claim (<key>:claim)
-- ARGV[1]  the unit the worker read, e.g. "u3" (unit ids are never reused,
--          so the value is its own version: comparing it is comparing
--          versions, and the ABA case cannot arise)
-- ARGV[2]  the worker's id
-- ARGV[3]  the claim's lease, ms
--
-- Returns 1 (claimed: the key still holds the unit and nobody claims it) or
-- 0 (a conflict: the unit was replaced or marked, or another worker claims
-- it). The claim is leased so that the unit of a claimant that crashed can
-- be claimed again once the lease runs out.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  return 1
end
return 0
