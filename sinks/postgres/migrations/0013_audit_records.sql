-- Lineage (issue 17): what every message did to which reservation. One row
-- per reservation record of an audited message, written with the
-- message's audit row (in the same statement, and only when that row is
-- new: a redelivered message adds nothing), so that `resingest history
-- HOTEL CONFIRMATION` and the console list every message that touched a
-- reservation, its version, action and outcome, and where the archive
-- keeps its raw copy. A record held for key resolution has no hotel code
-- until it is released; the release gives it the hotel and its outcome.
--
-- Partitioned by month like audit, and dropped with it by the audit
-- retention. Rows of audit written before this migration have none.
CREATE TABLE audit_records (
    received_month date        NOT NULL,
    received_at    timestamptz NOT NULL,
    source         text        NOT NULL,
    partition      text        NOT NULL,
    position       text        NOT NULL,
    message_id     text        NOT NULL DEFAULT '',
    ordinal        integer     NOT NULL,
    hotel_code     text        COLLATE "C" NOT NULL,
    confirmation   text        COLLATE "C" NOT NULL,
    version        text        COLLATE "C" NOT NULL,
    action         text        NOT NULL DEFAULT '',
    message_type   text        NOT NULL DEFAULT '',
    archive_key    text        NOT NULL DEFAULT '',
    outcome        text        NOT NULL,
    latency        interval    NOT NULL DEFAULT '0'
) PARTITION BY RANGE (received_month);
-- A reservation's story, in time order; held records are found by
-- (hotel_code '', confirmation).
CREATE INDEX audit_records_reservation_idx ON audit_records (hotel_code, confirmation, received_at);
CREATE TABLE audit_records_default PARTITION OF audit_records DEFAULT;

-- The months audit has partitions for.
SELECT resingest_month_partition('audit_records', 'received_month', month)
FROM resingest_month_partitions('audit');
