-- Ownership of open orders when several engine processes share one database: the
-- process holding a live lease tracks and recovers the order; an expired lease (its
-- process died or stalled) may be taken over. Times are the database's clock, so hosts
-- with skewed clocks still agree on who holds what.
CREATE TABLE order_leases (
    order_id    TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX order_leases_owner ON order_leases (owner);
