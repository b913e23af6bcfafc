-- The partitioned event chain (issue 24; see store/chain.py): a partition is a range of
-- seq (partition p numbers its rows p * 10^12 + 1, ...). A SQLite file has one writer
-- process, so it keeps one partition: every row is partition 0, as before. The table
-- is here so both schemas say how many partitions the chain has.
CREATE TABLE chain_config (
    one         INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1),
    partitions  INTEGER NOT NULL DEFAULT 1 CHECK (partitions = 1)
);
INSERT INTO chain_config DEFAULT VALUES;
