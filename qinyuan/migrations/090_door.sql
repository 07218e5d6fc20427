-- Households at their own door (issue 17): one link per household, stored only as the SHA-256 of its token.
CREATE TABLE door_links (
    household_id INTEGER PRIMARY KEY, token_hash VARCHAR NOT NULL UNIQUE, issued_at TIMESTAMPTZ NOT NULL,
    issued_by VARCHAR NOT NULL, version INTEGER NOT NULL DEFAULT 1);
-- Requests a household makes at its door that are not an order of another area: help, away / home sampling
-- for this round's testing, a proposed change of the household. Medicine, groceries and urgent cases go
-- into their own areas' tables (placed_by / created_by / reported_by = 'household:<id>').
CREATE SEQUENCE door_request_seq START 1000;
CREATE TABLE door_requests (
    id INTEGER PRIMARY KEY, household_id INTEGER NOT NULL, kind VARCHAR NOT NULL, topic VARCHAR,
    resident_id INTEGER, detail VARCHAR, proposal JSON, phone VARCHAR, status VARCHAR NOT NULL DEFAULT 'new',
    reason VARCHAR, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, updated_by VARCHAR,
    version INTEGER NOT NULL DEFAULT 1);
CREATE SEQUENCE door_event_seq;
CREATE TABLE door_events (
    id BIGINT DEFAULT nextval('door_event_seq') PRIMARY KEY, request_id INTEGER NOT NULL, to_status VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL, note VARCHAR);
-- Every write at a door, for the per-link and per-client hourly limits (client: a hash, never an address).
CREATE TABLE door_hits (household_id INTEGER NOT NULL, client VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL);
CREATE INDEX door_requests_household ON door_requests (household_id);
CREATE INDEX door_events_request ON door_events (request_id);
CREATE INDEX door_hits_household ON door_hits (household_id);
CREATE INDEX door_hits_client ON door_hits (client);
-- What the vetted suppliers offer households now (the door's grocery list).
CREATE SEQUENCE grocery_offer_seq START 100;
CREATE TABLE grocery_offers (
    id INTEGER PRIMARY KEY, supplier_id INTEGER NOT NULL, item VARCHAR NOT NULL, pack VARCHAR,
    price DOUBLE PRECISION, active BOOLEAN NOT NULL DEFAULT TRUE, version INTEGER NOT NULL DEFAULT 1);
INSERT INTO settings VALUES ('door_link_per_hour', '20') ON CONFLICT DO NOTHING;
INSERT INTO settings VALUES ('door_client_per_hour', '60') ON CONFLICT DO NOTHING
