-- Login throttling per (username, client) and per client (issue 14): each row is one attempt that has
-- not (yet) succeeded, claimed before the password is checked, with the address it came from.
ALTER TABLE login_failures ADD COLUMN client VARCHAR DEFAULT '-'
