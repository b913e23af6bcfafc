-- The bus in (issue 24): a mark's source sequence number (the stream's, for a mark from
-- market.*), so that a redelivered or late mark never takes a price back (see Mark.seq).
ALTER TABLE marks ADD COLUMN seq BIGINT;
