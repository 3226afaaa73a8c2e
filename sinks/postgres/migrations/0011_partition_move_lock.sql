-- resingest_month_partition (0010) moved a month's rows out of the default
-- partition without stopping the parent's writers. A writer whose
-- statement had taken its snapshot before the move committed then found
-- its row deleted and not (yet) in the new partition: an UPDATE of a held
-- message's audit row changed nothing, and the row stayed "held" for ever
-- (seen in TestKafkaKeyResolution when a worker created the month's
-- partition while another settled held records).
--
-- Now, when the default partition holds rows of the month, the move first
-- locks the parent in SHARE ROW EXCLUSIVE mode: writers (ROW EXCLUSIVE)
-- wait until the move and the ATTACH commit, and a statement takes its
-- snapshot only after it holds its table locks, so it sees the rows in
-- their new partition. Readers are not blocked. Creating a partition
-- ahead (the default holds nothing of that month, the usual case) takes no
-- such lock; a row of that month written to the default meanwhile makes
-- the ATTACH fail (the default is scanned under an ACCESS EXCLUSIVE lock),
-- which the next upkeep run repairs by moving it.
CREATE OR REPLACE FUNCTION resingest_month_partition(parent text, key text, month date)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    part  text := parent || '_' || to_char(month, 'YYYYMM');
    dflt  text := parent || '_default';
    upper date := (month + interval '1 month')::date;
    stray boolean := false;
BEGIN
    IF month <> date_trunc('month', month)::date THEN
        RAISE EXCEPTION 'resingest_month_partition: % is not the first day of a month', month;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('resingest_month_partition:' || parent));
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    IF to_regclass(dflt) IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %L AND %I < %L)',
            dflt, key, month, key, upper) INTO stray;
    END IF;
    IF stray THEN
        EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', parent);
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
    -- The check lets ATTACH skip its scan of the new table.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I >= %L AND %I < %L)',
        part, part || '_month', key, month, key, upper);
    IF stray THEN
        EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= %L AND %I < %L RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved', dflt, key, month, key, upper, part);
    END IF;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        parent, part, month, upper);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_month');
    RETURN true;
END $$;
