-- ordergate schema v2 (SQLite): the audit hash chain over order_events, and what
-- retention leaves of the events it removes (see ordergate/obs/chain.py, retention.py).

-- hash = sha256(prev_hash || canonical event); rows written before v2 stay NULL.
ALTER TABLE order_events ADD COLUMN prev_hash TEXT;
ALTER TABLE order_events ADD COLUMN hash TEXT;

-- A purged event keeps its link in the chain (not its content) until it can be folded
-- into an anchor.
CREATE TABLE audit_pruned (
    seq        INTEGER PRIMARY KEY,
    order_id   TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    ts         TEXT NOT NULL
);

-- The hash at a retention cut: verification starts after the newest anchor.
CREATE TABLE audit_anchors (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
