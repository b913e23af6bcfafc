-- ordergate schema (SQLite): reconciliation reports (seed 004), read back from the event log.
-- A report is written once, as the event 'ops.reconcile.report' (append-only, hash-chained
-- with every other event); this view is how to query them.

CREATE VIEW reconcile_reports AS
SELECT e.seq                                                  AS seq,
       json_extract(e.payload, '$.report_id')                 AS report_id,
       e.ts                                                   AS created_at,
       json_extract(e.payload, '$.status')                    AS status,
       json_extract(e.payload, '$.requires_manual_resolution') AS requires_manual_resolution,
       json_extract(e.payload, '$.mismatches')                AS mismatches,
       e.payload                                              AS payload
FROM order_events e
WHERE e.topic = 'ops.reconcile.report';
