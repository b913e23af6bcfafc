-- Kill switches (seed 004), one row per (kind, target), with who, why and when.
CREATE TABLE kill_switches (
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (kind, target)
);

-- The desk's trading state (NORMAL | REDUCING | HALTED) and posture (NORMAL | EMERGENCY),
-- with who set them and why.
CREATE TABLE trading_controls (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
