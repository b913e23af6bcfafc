-- Modify (issue 12, part 8): the number of the last replace and the replace pending, if
-- any (JSON), persisted with the order before the broker hears of the replace.
ALTER TABLE orders ADD COLUMN replace_no INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN pending_replace TEXT;
