-- The deduplicating sink: apply a unit's effect at most once.
--
-- KEYS[1]  the sink (a list of applied effects)
-- KEYS[2]  the unit ids applied so far (a set)
-- ARGV[1]  the unit id, e.g. "u3" (it names one version of the data)
-- ARGV[2]  the effect, as stored: "<unit> <tag>"
--
-- Returns 1 (applied) or 0 (this unit was applied before: refused). The
-- check and the effect are one atomic step, so two workers processing the
-- same unit at once still apply it once.
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[2])
return 1
