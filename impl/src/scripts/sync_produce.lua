-- The producer of a sync key: write the next unit only where there is room
-- for it — the key absent (never written, or its marker expired) or holding
-- the "processed" marker. A unit nobody has marked yet is never overwritten
-- by the producer; what overwrites units in the article's pattern is the
-- workers' marks.
--
-- KEYS[1]  the sync key
-- ARGV[1]  the unit, e.g. "u3"
-- ARGV[2]  the marker's value ("processed")
--
-- Returns 1 (written) or 0 (the key still holds a unit).
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[2] then
  return 0
end
-- A plain SET also drops the marker's TTL: the unit stays until taken.
redis.call('SET', KEYS[1], ARGV[1])
return 1
