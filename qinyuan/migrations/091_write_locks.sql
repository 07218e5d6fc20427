-- One writer at a time per key across app processes (qinyuan/keylocks.py): writes that count rows before adding
-- one (login throttle, door limits, a batch's portions) bump their key's slot first, so two at once conflict
-- and one retries on a fresh snapshot. Bookkeeping like login_failures: not audited, not cached.
CREATE TABLE write_locks (slot INTEGER PRIMARY KEY, bumps BIGINT NOT NULL DEFAULT 0)
