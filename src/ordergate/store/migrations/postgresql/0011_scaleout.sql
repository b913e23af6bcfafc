-- Several engines on one database (issue 24).
--
-- Ownership is decided on the database's clock only: an order's last change is
-- stamped by the server (``db_touched_at``), never by an engine host whose clock may
-- be off, and an unleased order is an orphan only once that stamp is a lease time old.
ALTER TABLE orders ADD COLUMN db_touched_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp();
CREATE INDEX orders_open_touched ON orders (db_touched_at)
    WHERE status IN ('PENDING', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'PENDING_CANCEL');

-- The fencing token: every change of an order's owner takes the next number, so a
-- holder can tell "still mine" from "lost and taken back".
CREATE SEQUENCE order_lease_tokens;
ALTER TABLE order_leases ADD COLUMN token BIGINT NOT NULL DEFAULT nextval('order_lease_tokens');

-- This database's incarnation: made once, when the schema is created, and carried by
-- a dump, a restore and a replica alike. Relay message ids start with it, so a
-- database dropped and created again under the same URL never reuses an id.
CREATE TABLE store_incarnation (
    id          TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    one         BOOLEAN PRIMARY KEY DEFAULT true CHECK (one)
);
INSERT INTO store_incarnation (id) VALUES (gen_random_uuid()::text);
