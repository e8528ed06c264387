-- The producer of a Stream, in batches: append several units in one round
-- trip, so that one producer keeps ahead of many consumers.
--
-- KEYS[1]  the Stream
-- ARGV     the units, e.g. "u7" "u8" "u9"
--
-- Returns how many it appended.
for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'unit', ARGV[i])
end
return #ARGV
