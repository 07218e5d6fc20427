-- Lookups every page makes; kept apart from 001 so the upgrade path is exercised by tests.
CREATE INDEX households_unit ON households (unit_id);
CREATE INDEX residents_household ON residents (household_id);
CREATE INDEX medicine_orders_household ON medicine_orders (household_id);
CREATE INDEX assignments_shift ON shift_assignments (shift_id);
CREATE INDEX assignments_volunteer ON shift_assignments (volunteer_id);
CREATE INDEX shifts_day ON shifts (day);
CREATE INDEX audit_entity ON audit_log (entity, entity_id);
INSERT INTO settings VALUES ('app', 'qinyuan') ON CONFLICT (key) DO UPDATE SET value = excluded.value;
