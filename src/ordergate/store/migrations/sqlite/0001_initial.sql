-- ordergate schema v1 (SQLite). Decimals are stored as canonical text: exact, never REAL.

-- Tables are WITHOUT ROWID where the key is the natural one: one b-tree per table is
-- fewer pages written per commit on the submit path.
CREATE TABLE intents (
    account_id       TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    intent_id        TEXT NOT NULL,
    payload_hash     TEXT NOT NULL,
    payload          TEXT NOT NULL,
    received_at      TEXT NOT NULL,
    order_id         TEXT NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
) WITHOUT ROWID;

CREATE TABLE orders (
    order_id         TEXT PRIMARY KEY,
    intent_id        TEXT NOT NULL,
    client_order_id  TEXT NOT NULL UNIQUE,
    idempotency_key  TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    strategy_id      TEXT NOT NULL,
    symbol           TEXT NOT NULL,
    side             TEXT NOT NULL,
    qty              TEXT NOT NULL,
    order_type       TEXT NOT NULL,
    limit_price      TEXT,
    stop_price       TEXT,
    time_in_force    TEXT NOT NULL,
    status           TEXT NOT NULL,
    broker_order_id  TEXT,
    filled_qty       TEXT NOT NULL,
    avg_fill_price   TEXT,
    fees             TEXT NOT NULL,
    late             INTEGER NOT NULL DEFAULT 0,
    reason           TEXT NOT NULL DEFAULT '',
    error_code       TEXT NOT NULL DEFAULT '',
    error_message    TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    arrival_price    TEXT,
    parent_order_id  TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    submitted_at     TEXT,
    version          INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX orders_open ON orders (status)
    WHERE status IN ('PENDING', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'PENDING_CANCEL');
-- order ids are time-ordered, so the primary key also lists orders newest first

-- Append-only: every event, in commit order — each state change of each order, and
-- operational events (order_id NULL). The writer sets seq after the chain's head
-- (which counts pruned events too), so a seq is never reused and relay cursors stay
-- valid after retention deletes old rows.
CREATE TABLE order_events (
    seq          INTEGER PRIMARY KEY,
    order_id     TEXT,
    topic        TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    payload      TEXT NOT NULL,
    ts           TEXT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, seq);
CREATE TRIGGER order_events_no_update BEFORE UPDATE ON order_events
BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END;

CREATE TABLE fills (
    fill_id          INTEGER PRIMARY KEY,
    order_id         TEXT NOT NULL REFERENCES orders (order_id),
    exec_id          TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    strategy_id      TEXT NOT NULL,
    symbol           TEXT NOT NULL,
    side             TEXT NOT NULL,
    last_qty         TEXT NOT NULL,
    last_px          TEXT NOT NULL,
    commission       TEXT NOT NULL,
    realized_gross   TEXT NOT NULL,
    liquidity        TEXT NOT NULL DEFAULT '',
    late             INTEGER NOT NULL DEFAULT 0,
    trading_day      TEXT NOT NULL,
    ts               TEXT NOT NULL
);
CREATE UNIQUE INDEX fills_exec ON fills (order_id, exec_id);

CREATE TABLE positions (
    account_id       TEXT NOT NULL,
    symbol           TEXT NOT NULL,
    qty              TEXT NOT NULL,
    avg_price        TEXT NOT NULL,
    realized_gross   TEXT NOT NULL,
    commission       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (account_id, symbol)
) WITHOUT ROWID;

CREATE TABLE marks (
    symbol   TEXT PRIMARY KEY,
    last     TEXT NOT NULL,
    bid      TEXT,
    ask      TEXT,
    volume   TEXT,
    ts       TEXT NOT NULL
);

-- The outbox: every event waits here to be published beyond this process. It is the
-- event log itself (written once, in the same transaction as the change it records);
-- each relay keeps its own cursor.
CREATE VIEW outbox AS
SELECT seq AS id, topic, order_id AS key, payload, ts AS created_at FROM order_events;
CREATE TABLE outbox_cursors (
    consumer  TEXT PRIMARY KEY,
    last_id   INTEGER NOT NULL
);

-- Seed 002's trades table, derived from the fills so there is one truth.
CREATE VIEW trades AS
SELECT f.fill_id            AS trade_id,
       f.ts                 AS timestamp,
       f.symbol             AS ticker,
       f.side               AS direction,
       f.last_qty           AS size,
       f.last_px            AS price,
       f.order_id           AS order_id,
       f.strategy_id        AS strategy_id,
       json_extract(i.payload, '$.profile_version_id') AS profile_version_id,
       json_extract(i.payload, '$.regime_id')          AS regime_id,
       json_extract(i.payload, '$.universe_id')        AS universe_id,
       json_extract(i.payload, '$.decision_id')        AS decision_id,
       f.exec_id            AS exec_id,
       f.commission         AS commission
FROM fills f
JOIN orders o ON o.order_id = f.order_id
JOIN intents i ON i.account_id = o.account_id AND i.idempotency_key = o.idempotency_key;
