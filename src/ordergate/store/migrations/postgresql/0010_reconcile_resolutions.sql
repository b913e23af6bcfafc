-- ordergate schema (PostgreSQL), the mirror of migrations/sqlite/0010_reconcile_resolutions.sql:
-- a person's resolutions of reconciliation reports (seed 004). Append-only like the
-- reports: a resolution never edits its report, and is never edited or removed itself.

CREATE TABLE reconcile_resolutions (
    resolution_id   TEXT PRIMARY KEY,
    report_id       TEXT NOT NULL REFERENCES reconcile_reports (report_id),
    resolved_at     TIMESTAMPTZ NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    note            TEXT NOT NULL
);
CREATE INDEX reconcile_resolutions_report ON reconcile_resolutions (report_id, resolved_at);
CREATE FUNCTION reconcile_resolutions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'reconcile_resolutions is append-only';
END;
$$;
CREATE TRIGGER reconcile_resolutions_no_change BEFORE UPDATE OR DELETE ON reconcile_resolutions
    FOR EACH ROW EXECUTE FUNCTION reconcile_resolutions_append_only();
