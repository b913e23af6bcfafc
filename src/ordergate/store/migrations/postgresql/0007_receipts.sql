-- Raw broker receipts (seed 000), redacted, kept 30 days by default.
CREATE TABLE broker_receipts (
    id               BIGSERIAL PRIMARY KEY,
    order_id         TEXT NOT NULL,
    client_order_id  TEXT NOT NULL,
    adapter          TEXT NOT NULL,
    raw              TEXT NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX broker_receipts_order ON broker_receipts (order_id);
CREATE INDEX broker_receipts_received ON broker_receipts (received_at);
