-- resingest_month_partition (0010) created a month's partition while the
-- parent's writers went on, which lost or refused their rows in two ways:
--
-- * A statement that had taken its snapshot before the move of the
--   default partition's rows committed found its row deleted and not (yet)
--   in the new partition: an UPDATE of a held message's audit row changed
--   nothing (TestPartitionMoveWaitsForWriters).
-- * An INSERT routed to the default partition before the ATTACH committed
--   failed after it with "new row for relation ..._default violates
--   partition constraint" (SQLSTATE 23514): the API's PII access rows of
--   the month were lost (TestInsertDuringPartitionCreation).
--
-- Now the function locks the parent in SHARE ROW EXCLUSIVE mode before it
-- creates the partition: writers (ROW EXCLUSIVE) wait until the partition
-- is attached and committed, and a statement takes its snapshot and routes
-- its rows only after it holds its table locks, so it sees the new
-- partition and the rows moved into it. Readers are not blocked. The lock
-- is taken only when the partition is missing (the usual upkeep run finds
-- them all and returns at once), and held for milliseconds: creating an
-- empty table, moving what the default partition holds of the month (none
-- when partitions are made ahead) and attaching it.
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
    EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', parent);
    IF to_regclass(dflt) IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %L AND %I < %L)',
            dflt, key, month, key, upper) INTO stray;
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
