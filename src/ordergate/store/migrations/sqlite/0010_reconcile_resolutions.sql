-- ordergate schema (SQLite): a person's resolutions of reconciliation reports (seed 004).
-- Append-only like the reports: a resolution records who did what and when; it never
-- edits its report, and it is never edited or removed itself.

CREATE TABLE reconcile_resolutions (
    resolution_id   TEXT PRIMARY KEY,
    report_id       TEXT NOT NULL REFERENCES reconcile_reports (report_id),
    resolved_at     TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    note            TEXT NOT NULL
);
CREATE INDEX reconcile_resolutions_report ON reconcile_resolutions (report_id, resolved_at);
CREATE TRIGGER reconcile_resolutions_no_update BEFORE UPDATE ON reconcile_resolutions
BEGIN SELECT RAISE(ABORT, 'reconcile_resolutions is append-only'); END;
CREATE TRIGGER reconcile_resolutions_no_delete BEFORE DELETE ON reconcile_resolutions
BEGIN SELECT RAISE(ABORT, 'reconcile_resolutions is append-only'); END;
