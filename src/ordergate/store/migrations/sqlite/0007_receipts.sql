-- Raw broker receipts (seed 000: "optional raw broker receipts stored as artifacts,
-- redacted"), kept 30 days by default (`ordergate purge`).
CREATE TABLE broker_receipts (
    id               INTEGER PRIMARY KEY,
    order_id         TEXT NOT NULL,
    client_order_id  TEXT NOT NULL,
    adapter          TEXT NOT NULL,
    raw              TEXT NOT NULL,
    received_at      TEXT NOT NULL
);
CREATE INDEX broker_receipts_order ON broker_receipts (order_id);
CREATE INDEX broker_receipts_received ON broker_receipts (received_at);
