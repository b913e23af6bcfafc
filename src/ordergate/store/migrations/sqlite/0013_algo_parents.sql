-- Execution algorithms (issue 18): parent orders. A parent is never sent to a broker;
-- its children are ordinary orders (keys <parent key>/slice-N, parent_order_id = the
-- parent's id). ``intent`` is the parent's canonical intent, ``state`` its current
-- terms and progress hints (JSON); ``version`` is its optimistic lock.
CREATE TABLE algo_parents (
    parent_id       TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payload_hash    TEXT NOT NULL,
    intent          TEXT NOT NULL,
    status          TEXT NOT NULL,
    state           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX algo_parents_status ON algo_parents (status);
