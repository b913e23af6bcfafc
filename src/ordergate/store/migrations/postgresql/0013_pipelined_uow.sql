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

-- The events of a step were chained after the head this process last saw: take the
-- event log's write lock (the one every chain writer takes, store/chain.py) and
-- refuse when the head is another by now. Until the step commits nobody else can
-- extend the chain, so the step's rows follow the head they were hashed after.
CREATE FUNCTION og_chain_expect(expected_seq BIGINT, expected_hash TEXT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    head_seq BIGINT;
    head_hash TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(current_schema() || '.event_log', 0));
    SELECT seq, hash INTO head_seq, head_hash FROM (
        (SELECT seq, hash FROM order_events ORDER BY seq DESC LIMIT 1) UNION ALL
        (SELECT seq, hash FROM audit_pruned ORDER BY seq DESC LIMIT 1) UNION ALL
        (SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1)
    ) AS heads ORDER BY seq DESC LIMIT 1;
    IF head_seq IS DISTINCT FROM expected_seq OR head_hash IS DISTINCT FROM expected_hash THEN
        RAISE EXCEPTION USING ERRCODE = 'OGC01', MESSAGE = 'the chain head moved';
    END IF;
END;
$$;
