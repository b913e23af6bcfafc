-- A reconciliation report may be about one order (run by itself after the order's hard
-- timeout, seed 004 scenario 3): the order it is linked to.
ALTER TABLE reconcile_reports ADD COLUMN order_id TEXT;
CREATE INDEX reconcile_reports_order ON reconcile_reports (order_id) WHERE order_id IS NOT NULL;
