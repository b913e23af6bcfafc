-- Fill amendments (issues 13 / 15): a fill the broker busted stays, marked, so that the
-- execution is never booked again; a correction rewrites its figures. ``amend_id`` is
-- the broker's id of the last bust or correction applied to it.
ALTER TABLE fills ADD COLUMN busted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE fills ADD COLUMN amend_id TEXT NOT NULL DEFAULT '';
