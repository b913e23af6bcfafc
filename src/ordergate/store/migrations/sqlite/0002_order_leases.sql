-- Ownership of open orders when several engine processes share one database file: the
-- process holding a live lease tracks and recovers the order; an expired lease (its
-- process died or stalled) may be taken over. expires_at is Unix time in microseconds.
CREATE TABLE order_leases (
    order_id    TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX order_leases_owner ON order_leases (owner);
