-- The audit chain keyed (see ordergate/obs/chain.py, seal.py): what retention leaves of
-- a purged event, each retention anchor, and the seal carry an HMAC with the audit key,
-- which lives outside the database. Rows from before stay without one until the first
-- store opened with the key seals the chain (ordergate.obs.seal), vouching for them.
ALTER TABLE audit_pruned ADD COLUMN mac TEXT;
ALTER TABLE audit_anchors ADD COLUMN mac TEXT;

-- One row: where the chain written before the key ends (legacy_seq, legacy_hash), and
-- the positions at that point, from which audit verify re-folds the fills after it.
CREATE TABLE audit_seal (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    legacy_seq   INTEGER NOT NULL,
    legacy_hash  TEXT,
    positions    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    mac          TEXT NOT NULL
);
