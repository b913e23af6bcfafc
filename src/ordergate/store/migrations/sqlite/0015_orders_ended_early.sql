-- The orders that ended canceled or expired, newest first: the order tracker looks for
-- late fills among them every pass (ten times a second). Without this index that query
-- read every order with the store's lock held (3.8 ms at 4,100 orders, growing with the
-- table). Partial: an order that fills (the submit path) never touches it. The query
-- writes the same statuses out in this order (store/reads.py, _status_in), which is
-- what lets SQLite use a partial index.
CREATE INDEX orders_ended_early ON orders (order_id) WHERE status IN ('CANCELED', 'EXPIRED');
