-- ordergate schema (PostgreSQL), the mirror of migrations/sqlite/0004_reconcile.sql:
-- reconciliation reports (seed 004). Written once, never updated: a report is what was
-- seen at one moment; a person resolves it, nothing corrects it.

CREATE TABLE reconcile_reports (
    report_id                   TEXT PRIMARY KEY,
    created_at                  TIMESTAMPTZ NOT NULL,
    status                      TEXT NOT NULL,
    requires_manual_resolution  INTEGER NOT NULL,
    mismatches                  TEXT NOT NULL,
    payload                     TEXT NOT NULL
);
CREATE INDEX reconcile_reports_created ON reconcile_reports (created_at);
CREATE FUNCTION reconcile_reports_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'reconcile_reports is append-only';
END;
$$;
CREATE TRIGGER reconcile_reports_no_update BEFORE UPDATE ON reconcile_reports
    FOR EACH ROW EXECUTE FUNCTION reconcile_reports_append_only();
