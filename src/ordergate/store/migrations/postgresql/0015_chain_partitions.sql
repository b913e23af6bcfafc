-- The partitioned event chain (issue 24; see store/chain.py). A partition is a range of
-- seq: partition p numbers its rows p * 10^12 + 1, p * 10^12 + 2, ... Every row written
-- before this migration is partition 0, unchanged, so every chain still verifies. The
-- partition of a row is seq / 10^12 (og_chain_partition), served by the primary key.

-- How many partitions the accounts are spread over (crc32(account) mod partitions). One
-- value for every process of the database: change it only with every writer stopped.
CREATE TABLE chain_config (
    one         BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
    partitions  INT NOT NULL DEFAULT 1 CHECK (partitions BETWEEN 1 AND 4096)
);
INSERT INTO chain_config DEFAULT VALUES;

CREATE FUNCTION og_chain_partition(seq BIGINT) RETURNS INT LANGUAGE sql IMMUTABLE AS $$
    SELECT (seq / 1000000000000)::int
$$;

-- A partition's head: the newest of its live events, purged events' stubs and anchors.
CREATE FUNCTION og_chain_head_in(part INT) RETURNS TABLE (seq BIGINT, hash TEXT)
LANGUAGE sql STABLE AS $$
    SELECT seq, hash FROM (
        (SELECT seq, hash FROM order_events WHERE seq > part * 1000000000000::bigint
            AND seq < (part + 1) * 1000000000000::bigint ORDER BY seq DESC LIMIT 1) UNION ALL
        (SELECT seq, hash FROM audit_pruned WHERE seq > part * 1000000000000::bigint
            AND seq < (part + 1) * 1000000000000::bigint ORDER BY seq DESC LIMIT 1) UNION ALL
        (SELECT seq, hash FROM audit_anchors WHERE seq > part * 1000000000000::bigint
            AND seq < (part + 1) * 1000000000000::bigint ORDER BY seq DESC LIMIT 1)
    ) AS heads ORDER BY seq DESC LIMIT 1
$$;

-- og_chain_expect (0013_pipelined_uow) for one partition: wait briefly while the head is
-- behind the expected one (another thread's step of this process, still committing),
-- then take the partition's write lock and refuse when its head is another. Partition
-- 0's lock is the one-chain lock ('.event_log'), so retention and the seal interlock
-- with it as before.
CREATE FUNCTION og_chain_expect_in(part INT, expected_seq BIGINT, expected_hash TEXT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    head_seq BIGINT;
    head_hash TEXT;
    waits INT := 0;
BEGIN
    LOOP
        SELECT h.seq, h.hash INTO head_seq, head_hash FROM og_chain_head_in(part) AS h;
        EXIT WHEN head_seq IS NOT DISTINCT FROM expected_seq
            AND head_hash IS NOT DISTINCT FROM expected_hash;
        IF coalesce(head_seq, 0) >= coalesce(expected_seq, 0) OR waits >= 100 THEN
            RAISE EXCEPTION USING ERRCODE = 'OGC01', MESSAGE = 'the chain head moved',
                DETAIL = part::text;
        END IF;
        PERFORM pg_sleep(0.0002);
        waits := waits + 1;
    END LOOP;
    PERFORM pg_advisory_xact_lock(hashtextextended(current_schema()
        || CASE WHEN part = 0 THEN '.event_log' ELSE '.event_log#' || part END, 0));
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM og_chain_head_in(part) AS h;
    IF head_seq IS DISTINCT FROM expected_seq OR head_hash IS DISTINCT FROM expected_hash THEN
        RAISE EXCEPTION USING ERRCODE = 'OGC01', MESSAGE = 'the chain head moved',
            DETAIL = part::text;
    END IF;
END;
$$;

-- A unit's events of one partition in one statement (store/pg_uow.py): the check of the
-- head it hashed after (when checked; a refusal raises OGC01 and skips the rest of the
-- pipeline), the commit's flush wait let go (no_flush_wait: the unit's locks go at
-- commit, a later statement of its pipeline waits for the flush), and the rows.
CREATE FUNCTION og_chain_append(
    part INT, checked BOOLEAN, expected_seq BIGINT, expected_hash TEXT, no_flush_wait BOOLEAN,
    seqs BIGINT[], order_ids TEXT[], topics TEXT[], froms TEXT[], tos TEXT[],
    payloads TEXT[], tss TIMESTAMPTZ[], prevs TEXT[], hashes TEXT[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF checked THEN
        PERFORM og_chain_expect_in(part, expected_seq, expected_hash);
    END IF;
    IF no_flush_wait THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    INSERT INTO order_events (seq, order_id, topic, from_status, to_status, payload, ts,
        prev_hash, hash)
    SELECT * FROM unnest(seqs, order_ids, topics, froms, tos, payloads, tss, prevs, hashes);
END;
$$;
