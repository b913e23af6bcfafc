-- The pipelined unit of work (store/pg_uow.py) sends a step's writes and its COMMIT to
-- the server in one round trip, before it has seen any of their results. A check that
-- fails must therefore fail on the server, so that the rest of the pipeline (COMMIT
-- included) is skipped and nothing of the step is kept.

-- An order's update found no row at its version: the order changed underneath it.
CREATE FUNCTION og_expect_one(n BIGINT, what TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF n <> 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'OGS01', MESSAGE = 'stale: ' || what;
    END IF;
END;
$$;

-- The events of a step were chained after the head this process believed: the head is
-- one this process is about to commit (another thread's step, its commit still on the
-- way: wait for it, up to ~20 ms) or is now; then take the event log's write lock (the one
-- every chain writer takes, store/chain.py) and refuse when the head is another by now.
-- Until the step commits nobody else can extend the chain, so its rows follow the head
-- they were hashed after. The wait holds no lock of the chain's.
CREATE FUNCTION og_chain_head() RETURNS TABLE (seq BIGINT, hash TEXT) LANGUAGE sql STABLE AS $$
    SELECT seq, hash FROM (
        (SELECT seq, hash FROM order_events ORDER BY seq DESC LIMIT 1) UNION ALL
        (SELECT seq, hash FROM audit_pruned ORDER BY seq DESC LIMIT 1) UNION ALL
        (SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1)
    ) AS heads ORDER BY seq DESC LIMIT 1
$$;

CREATE FUNCTION og_chain_expect(expected_seq BIGINT, expected_hash TEXT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    head_seq BIGINT;
    head_hash TEXT;
    waits INT := 0;
BEGIN
    LOOP
        SELECT h.seq, h.hash INTO head_seq, head_hash FROM og_chain_head() AS h;
        EXIT WHEN head_seq IS NOT DISTINCT FROM expected_seq
            AND head_hash IS NOT DISTINCT FROM expected_hash;
        IF coalesce(head_seq, 0) >= coalesce(expected_seq, 0) OR waits >= 100 THEN
            RAISE EXCEPTION USING ERRCODE = 'OGC01', MESSAGE = 'the chain head moved';
        END IF;
        PERFORM pg_sleep(0.0002);
        waits := waits + 1;
    END LOOP;
    PERFORM pg_advisory_xact_lock(hashtextextended(current_schema() || '.event_log', 0));
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM og_chain_head() AS h;
    IF head_seq IS DISTINCT FROM expected_seq OR head_hash IS DISTINCT FROM expected_hash THEN
        RAISE EXCEPTION USING ERRCODE = 'OGC01', MESSAGE = 'the chain head moved';
    END IF;
END;
$$;
