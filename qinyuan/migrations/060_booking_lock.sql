-- Booking someone touches this counter (one row per person): two bookings of the same person at once
-- then conflict in DuckDB and one retries after the other. An UPDATE that sets a column to its own
-- value does not conflict, and bumping `version` would turn a roster edit made meanwhile into a stale one.
ALTER TABLE volunteers ADD COLUMN booking_lock BIGINT DEFAULT 0
