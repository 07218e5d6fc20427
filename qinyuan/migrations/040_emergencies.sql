-- Emergency cases: timeline lookups by case; the board's stale-case threshold as a settings row.
CREATE INDEX emergency_events_case ON emergency_events (case_id);
CREATE INDEX treatments_resident ON treatments (resident_id);
INSERT INTO settings VALUES ('emergency_stale_minutes', '60') ON CONFLICT DO NOTHING;
