-- The whole domain of DESIGN.md. Versions guard optimistic edits; no foreign keys (DuckDB
-- implements updates as delete+insert, which foreign keys turn into spurious violations).
CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE audit_seq;
CREATE TABLE audit_log (
    id BIGINT DEFAULT nextval('audit_seq') PRIMARY KEY,
    ts TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
    entity VARCHAR NOT NULL, entity_id VARCHAR, before JSON, after JSON);

CREATE TABLE units (
    id INTEGER PRIMARY KEY, building INTEGER NOT NULL, unit_no INTEGER NOT NULL,
    floors INTEGER NOT NULL DEFAULT 6, team_id INTEGER, version INTEGER NOT NULL DEFAULT 1);

CREATE SEQUENCE team_seq START 100;
CREATE TABLE teams (
    id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, captain_id INTEGER, notes VARCHAR,
    version INTEGER NOT NULL DEFAULT 1);

CREATE SEQUENCE volunteer_seq START 100000;
CREATE TABLE volunteers (
    id INTEGER PRIMARY KEY, team_id INTEGER, name VARCHAR NOT NULL, phone VARCHAR,
    department VARCHAR, party_member BOOLEAN NOT NULL DEFAULT TRUE, is_captain BOOLEAN NOT NULL DEFAULT FALSE,
    skills VARCHAR[] NOT NULL DEFAULT ARRAY[]::VARCHAR[], active BOOLEAN NOT NULL DEFAULT TRUE, notes VARCHAR,
    version INTEGER NOT NULL DEFAULT 1);

CREATE TABLE users (
    username VARCHAR PRIMARY KEY, display_name VARCHAR NOT NULL, role VARCHAR NOT NULL,
    team_id INTEGER, volunteer_id INTEGER, password_hash VARCHAR NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE, must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    tokens_valid_after TIMESTAMPTZ, created_at TIMESTAMPTZ, version INTEGER NOT NULL DEFAULT 1);
CREATE TABLE login_failures (username VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL);

CREATE SEQUENCE household_seq START 1000000;
CREATE TABLE households (
    id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL, room VARCHAR NOT NULL, contact_name VARCHAR,
    phone VARCHAR, occupants INTEGER NOT NULL DEFAULT 1, notes VARCHAR,
    last_visit_at TIMESTAMPTZ, last_visit_by VARCHAR, version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE resident_seq START 10000000;
CREATE TABLE residents (
    id INTEGER PRIMARY KEY, household_id INTEGER NOT NULL, name VARCHAR NOT NULL, gender VARCHAR,
    birth_year INTEGER, phone VARCHAR, tags VARCHAR[] NOT NULL DEFAULT ARRAY[]::VARCHAR[], medical_notes VARCHAR,
    due_date DATE, emergency_contact VARCHAR, active BOOLEAN NOT NULL DEFAULT TRUE,
    version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE visit_seq;
CREATE TABLE census_visits (
    id BIGINT DEFAULT nextval('visit_seq') PRIMARY KEY, household_id INTEGER NOT NULL,
    visited_at TIMESTAMPTZ NOT NULL, visited_by VARCHAR NOT NULL, occupants INTEGER, notes VARCHAR);
CREATE SEQUENCE treatment_seq;
CREATE TABLE treatments (
    id INTEGER DEFAULT nextval('treatment_seq') PRIMARY KEY, resident_id INTEGER NOT NULL,
    kind VARCHAR NOT NULL, weekdays INTEGER[] NOT NULL DEFAULT ARRAY[]::INTEGER[], depart_time VARCHAR,
    destination VARCHAR, notes VARCHAR, active BOOLEAN NOT NULL DEFAULT TRUE,
    version INTEGER NOT NULL DEFAULT 1);

CREATE SEQUENCE round_seq START 100;
CREATE TABLE test_rounds (
    id INTEGER PRIMARY KEY, round_no INTEGER NOT NULL, day DATE NOT NULL, sites VARCHAR NOT NULL,
    slot_minutes INTEGER NOT NULL DEFAULT 30, capacity INTEGER NOT NULL DEFAULT 200,
    start_time VARCHAR NOT NULL DEFAULT '08:00', status VARCHAR NOT NULL DEFAULT 'planned',
    version INTEGER NOT NULL DEFAULT 1);
CREATE TABLE test_slots (
    round_id INTEGER NOT NULL, unit_id INTEGER NOT NULL, slot_start TIMESTAMPTZ NOT NULL,
    site VARCHAR, version INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (round_id, unit_id));
CREATE TABLE test_results (
    round_id INTEGER NOT NULL, resident_id INTEGER NOT NULL, status VARCHAR NOT NULL DEFAULT 'pending',
    reason VARCHAR, updated_at TIMESTAMPTZ, updated_by VARCHAR, version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (round_id, resident_id));

CREATE SEQUENCE post_seq START 100;
CREATE TABLE duty_posts (
    id INTEGER PRIMARY KEY, code VARCHAR NOT NULL, kind VARCHAR NOT NULL, name_zh VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL, required INTEGER NOT NULL DEFAULT 2, active BOOLEAN NOT NULL DEFAULT TRUE,
    version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE shift_seq START 100000;
CREATE TABLE shifts (
    id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, day DATE NOT NULL, start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL, version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE assignment_seq START 1000000;
CREATE TABLE shift_assignments (
    id INTEGER PRIMARY KEY, shift_id INTEGER NOT NULL, volunteer_id INTEGER NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'assigned', check_in_at TIMESTAMPTZ, check_out_at TIMESTAMPTZ,
    handover_note VARCHAR, assigned_by VARCHAR, version INTEGER NOT NULL DEFAULT 1);

CREATE SEQUENCE medicine_seq START 100000;
CREATE TABLE medicine_orders (
    id INTEGER PRIMARY KEY, household_id INTEGER NOT NULL, resident_id INTEGER, items VARCHAR NOT NULL,
    channel VARCHAR NOT NULL, urgency VARCHAR NOT NULL, source VARCHAR, notes VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'requested', reason VARCHAR, placed_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, updated_by VARCHAR,
    delivered_at TIMESTAMPTZ, version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE medicine_event_seq;
CREATE TABLE medicine_events (
    id BIGINT DEFAULT nextval('medicine_event_seq') PRIMARY KEY, order_id INTEGER NOT NULL,
    from_status VARCHAR, to_status VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL, note VARCHAR);

CREATE SEQUENCE case_seq START 1000;
CREATE TABLE emergency_cases (
    id INTEGER PRIMARY KEY, household_id INTEGER NOT NULL, resident_id INTEGER, summary VARCHAR NOT NULL,
    vitals VARCHAR, severity VARCHAR NOT NULL, status VARCHAR NOT NULL DEFAULT 'reported',
    reported_at TIMESTAMPTZ NOT NULL, reported_by VARCHAR NOT NULL, last_event_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ, version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE case_event_seq;
CREATE TABLE emergency_events (
    id BIGINT DEFAULT nextval('case_event_seq') PRIMARY KEY, case_id INTEGER NOT NULL, kind VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL, note VARCHAR);

CREATE SEQUENCE supplier_seq START 10;
CREATE TABLE suppliers (
    id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, vetted BOOLEAN NOT NULL DEFAULT TRUE, contact VARCHAR,
    phone VARCHAR, version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE grocery_seq START 100000;
CREATE TABLE grocery_orders (
    id INTEGER PRIMARY KEY, supplier_id INTEGER NOT NULL, household_id INTEGER, unit_id INTEGER,
    items VARCHAR NOT NULL, status VARCHAR NOT NULL DEFAULT 'ordered', created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL, updated_by VARCHAR,
    version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE grocery_event_seq;
CREATE TABLE grocery_events (
    id BIGINT DEFAULT nextval('grocery_event_seq') PRIMARY KEY, order_id INTEGER NOT NULL,
    from_status VARCHAR, to_status VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL);

CREATE SEQUENCE batch_seq START 10;
CREATE TABLE donation_batches (
    id INTEGER PRIMARY KEY, donor VARCHAR NOT NULL, item VARCHAR NOT NULL, portions INTEGER NOT NULL,
    day DATE NOT NULL, version INTEGER NOT NULL DEFAULT 1);
CREATE TABLE donation_deliveries (
    batch_id INTEGER NOT NULL, household_id INTEGER NOT NULL, portions INTEGER NOT NULL DEFAULT 1,
    delivered_at TIMESTAMPTZ NOT NULL, delivered_by VARCHAR NOT NULL, PRIMARY KEY (batch_id, household_id));

CREATE SEQUENCE item_seq START 100;
CREATE TABLE supply_items (
    id INTEGER PRIMARY KEY, code VARCHAR NOT NULL, name_zh VARCHAR NOT NULL, name_en VARCHAR NOT NULL,
    unit VARCHAR NOT NULL, version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE movement_seq;
CREATE TABLE stock_movements (
    id BIGINT DEFAULT nextval('movement_seq') PRIMARY KEY, item_id INTEGER NOT NULL, quantity DOUBLE PRECISION NOT NULL,
    counterparty VARCHAR, ts TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL, note VARCHAR);
CREATE SEQUENCE task_seq START 1000;
CREATE TABLE carrying_tasks (
    id INTEGER PRIMARY KEY, description VARCHAR NOT NULL, item_id INTEGER, quantity DOUBLE PRECISION,
    from_place VARCHAR, to_place VARCHAR, assignees VARCHAR, status VARCHAR NOT NULL DEFAULT 'open',
    created_at TIMESTAMPTZ NOT NULL, done_at TIMESTAMPTZ, done_by VARCHAR, version INTEGER NOT NULL DEFAULT 1);

CREATE SEQUENCE notice_seq;
CREATE TABLE notices (
    id BIGINT DEFAULT nextval('notice_seq') PRIMARY KEY, unit_id INTEGER, kind VARCHAR NOT NULL,
    lang VARCHAR NOT NULL DEFAULT 'zh', body VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, created_by VARCHAR NOT NULL);
