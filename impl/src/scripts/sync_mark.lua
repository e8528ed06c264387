-- Mark a claimed unit processed: compare-and-set again, so that a worker
-- whose claim ran out never overwrites a unit written since, nor marks a
-- unit another worker claims.
--
-- KEYS[1]  the sync key
-- KEYS[2]  its claim (<key>:claim)
-- ARGV[1]  the unit, e.g. "u3"
-- ARGV[2]  the worker's id
-- ARGV[3]  the marker's lease, ms
-- ARGV[4]  the marker's value ("processed")
--
-- Returns 1 (marked; the claim is dropped) or 0 (nothing changed: the key
-- holds something else, or another worker claims the unit). A claim that
-- ran out with nobody claiming since does not stop the mark: the unit is
-- still there, unclaimed, and it has been processed.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local claim = redis.call('GET', KEYS[2])
if claim and claim ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1
