-- Growth (DESIGN.md): the tables that grow with traffic — audit,
-- dead_letters and pii_access — are partitioned by month, so that a
-- retention drops whole partitions (DROP TABLE: no DELETE, no vacuum, no
-- bloat) instead of deleting rows.
--
-- The partition key is a month column (the first day of the UTC month of
-- received_at, or of accessed_at), set by the writers. A unique index on a
-- partitioned table must contain the partition key, so the "one row per
-- source position" rule now holds per month through the unique indexes and,
-- for a message redelivered in the month after its first delivery, through
-- the writers' check of the previous month (sinks/postgres audit.go and
-- deadletter.go).
--
-- Each table has a DEFAULT partition that catches a row for a month whose
-- partition does not exist yet, so no write ever fails for want of a
-- partition; resingest_month_partition moves such rows into the month's
-- partition when it creates it. `resingest db migrate`, `resingest db
-- partitions` and the worker create partitions ahead (postgres.Sink's
-- EnsurePartitions).
--
-- An existing database is migrated in place: each table is renamed, the
-- partitioned table created under the old name with the old id sequence,
-- a partition made for every month that holds rows, the rows copied, and
-- the old table dropped; all in this migration's one transaction.

-- resingest_month is the partition key of a time: the first day of its
-- UTC month.
CREATE FUNCTION resingest_month(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('month', t AT TIME ZONE 'UTC')::date $$;

-- resingest_month_partition creates parent's partition for the month that
-- starts on month (parent_YYYYMM, bounds [month, month + 1 month) on the
-- column key), moving rows for that month out of parent_default first. It
-- returns false when the partition exists already. Concurrent callers are
-- serialised by an advisory lock per parent. ATTACH PARTITION, unlike
-- CREATE TABLE ... PARTITION OF, does not block the parent's readers and
-- writers.
CREATE FUNCTION resingest_month_partition(parent text, key text, month date)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    part  text := parent || '_' || to_char(month, 'YYYYMM');
    dflt  text := parent || '_default';
    upper date := (month + interval '1 month')::date;
BEGIN
    IF month <> date_trunc('month', month)::date THEN
        RAISE EXCEPTION 'resingest_month_partition: % is not the first day of a month', month;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('resingest_month_partition:' || parent));
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
    -- The check lets ATTACH skip its scan of the new table.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I >= %L AND %I < %L)',
        part, part || '_month', key, month, key, upper);
    IF to_regclass(dflt) IS NOT NULL THEN
        EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= %L AND %I < %L RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved', dflt, key, month, key, upper, part);
    END IF;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        parent, part, month, upper);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_month');
    RETURN true;
END $$;

-- resingest_month_partitions lists parent's month partitions, oldest first.
CREATE FUNCTION resingest_month_partitions(parent text)
RETURNS TABLE (name text, month date) LANGUAGE sql STABLE AS $$
    SELECT c.relname::text, to_date(right(c.relname, 6), 'YYYYMM')
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = to_regclass(parent)
      AND c.relname ~ ('^' || parent || '_[0-9]{6}$')
    ORDER BY 2
$$;

-- audit --------------------------------------------------------------------
ALTER TABLE audit RENAME TO audit_unpartitioned;
ALTER SEQUENCE audit_id_seq OWNED BY NONE;
DROP INDEX audit_message_id_idx, audit_position_idx, audit_received_at_idx;
ALTER TABLE audit_unpartitioned DROP CONSTRAINT audit_pkey;

CREATE TABLE audit (
    id             bigint      NOT NULL DEFAULT nextval('audit_id_seq'),
    message_id     text        NOT NULL DEFAULT '',
    source         text        NOT NULL DEFAULT '',
    partition      text        NOT NULL DEFAULT '',
    position       text        NOT NULL DEFAULT '',
    received_at    timestamptz NOT NULL,
    stored_at      timestamptz NOT NULL DEFAULT now(),
    outcome        text        NOT NULL,
    error          text        NOT NULL DEFAULT '',
    latency        interval    NOT NULL DEFAULT '0',
    -- First day of received_at's UTC month: the partition key.
    received_month date        NOT NULL,
    PRIMARY KEY (id, received_month)
) PARTITION BY RANGE (received_month);
ALTER SEQUENCE audit_id_seq OWNED BY audit.id;
CREATE INDEX audit_message_id_idx ON audit (message_id) WHERE message_id <> '';
-- A redelivered message must not get a second row (see above).
CREATE UNIQUE INDEX audit_position_idx ON audit (source, partition, position, received_month) WHERE position <> '';
CREATE INDEX audit_received_at_idx ON audit (received_at);
CREATE TABLE audit_default PARTITION OF audit DEFAULT;

SELECT resingest_month_partition('audit', 'received_month', m)
FROM (SELECT DISTINCT resingest_month(received_at) AS m
      FROM audit_unpartitioned) months;
INSERT INTO audit (id, message_id, source, partition, position, received_at, stored_at,
    outcome, error, latency, received_month)
SELECT id, message_id, source, partition, position, received_at, stored_at,
    outcome, error, latency, resingest_month(received_at)
FROM audit_unpartitioned;
DROP TABLE audit_unpartitioned;

-- dead_letters -------------------------------------------------------------
ALTER TABLE dead_letters RENAME TO dead_letters_unpartitioned;
ALTER SEQUENCE dead_letters_id_seq OWNED BY NONE;
DROP INDEX dead_letters_pending_idx, dead_letters_position_idx;
ALTER TABLE dead_letters_unpartitioned DROP CONSTRAINT dead_letters_pkey;

CREATE TABLE dead_letters (
    id             bigint      NOT NULL DEFAULT nextval('dead_letters_id_seq'),
    source         text        NOT NULL DEFAULT '',
    partition      text        NOT NULL DEFAULT '',
    position       text        NOT NULL DEFAULT '',
    message_id     text        NOT NULL DEFAULT '',
    message        bytea       NOT NULL,
    reason         text        NOT NULL,
    received_at    timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    replayed_at    timestamptz,
    message_bytes  bigint      NOT NULL DEFAULT 0,
    truncated      boolean     NOT NULL DEFAULT false,
    archive_key    text        NOT NULL DEFAULT '',
    -- First day of received_at's UTC month: the partition key.
    received_month date        NOT NULL,
    PRIMARY KEY (id, received_month)
) PARTITION BY RANGE (received_month);
ALTER SEQUENCE dead_letters_id_seq OWNED BY dead_letters.id;
CREATE INDEX dead_letters_pending_idx ON dead_letters (id) WHERE replayed_at IS NULL;
CREATE UNIQUE INDEX dead_letters_position_idx ON dead_letters (source, partition, position, received_month) WHERE position <> '';
CREATE TABLE dead_letters_default PARTITION OF dead_letters DEFAULT;

SELECT resingest_month_partition('dead_letters', 'received_month', m)
FROM (SELECT DISTINCT resingest_month(received_at) AS m
      FROM dead_letters_unpartitioned) months;
INSERT INTO dead_letters (id, source, partition, position, message_id, message, reason,
    received_at, created_at, replayed_at, message_bytes, truncated, archive_key, received_month)
SELECT id, source, partition, position, message_id, message, reason,
    received_at, created_at, replayed_at, message_bytes, truncated, archive_key,
    resingest_month(received_at)
FROM dead_letters_unpartitioned;
DROP TABLE dead_letters_unpartitioned;

-- pii_access ---------------------------------------------------------------
ALTER TABLE pii_access RENAME TO pii_access_unpartitioned;
ALTER SEQUENCE pii_access_id_seq OWNED BY NONE;
DROP INDEX pii_access_reservation_idx, pii_access_caller_idx;
ALTER TABLE pii_access_unpartitioned DROP CONSTRAINT pii_access_pkey;

CREATE TABLE pii_access (
    id             bigint      NOT NULL DEFAULT nextval('pii_access_id_seq'),
    accessed_at    timestamptz NOT NULL,
    request_id     text        NOT NULL,
    caller_kind    text        NOT NULL CHECK (caller_kind IN ('guest', 'partner')),
    caller_id      text        NOT NULL,
    hotel_code     text        NOT NULL,
    confirmation   text        NOT NULL,
    fields         text[]      NOT NULL,
    -- First day of accessed_at's UTC month: the partition key.
    accessed_month date        NOT NULL,
    PRIMARY KEY (id, accessed_month)
) PARTITION BY RANGE (accessed_month);
ALTER SEQUENCE pii_access_id_seq OWNED BY pii_access.id;
CREATE INDEX pii_access_reservation_idx ON pii_access (hotel_code, confirmation, accessed_at);
CREATE INDEX pii_access_caller_idx ON pii_access (caller_kind, caller_id, accessed_at);
CREATE TABLE pii_access_default PARTITION OF pii_access DEFAULT;

SELECT resingest_month_partition('pii_access', 'accessed_month', m)
FROM (SELECT DISTINCT resingest_month(accessed_at) AS m
      FROM pii_access_unpartitioned) months;
INSERT INTO pii_access (id, accessed_at, request_id, caller_kind, caller_id, hotel_code,
    confirmation, fields, accessed_month)
SELECT id, accessed_at, request_id, caller_kind, caller_id, hotel_code, confirmation, fields,
    resingest_month(accessed_at)
FROM pii_access_unpartitioned;
DROP TABLE pii_access_unpartitioned;
