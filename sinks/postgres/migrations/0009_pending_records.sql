-- Key resolution (DESIGN.md): a record that carries a confirmation number
-- but no hotel code, and whose reservation is not stored yet (the cancel
-- overtook its booking), is held here until a reservation with that
-- confirmation is stored, then applied to it in version order and deleted.
-- Held longer than the worker's --pending-ttl it is dead-lettered as
-- unresolved and deleted.
CREATE TABLE pending_records (
    id            bigserial   PRIMARY KEY,
    confirmation  text        COLLATE "C" NOT NULL,
    -- reservation.Version.String() of the record: byte order is version order.
    version       text        COLLATE "C" NOT NULL,
    -- The canonical record (JSON) with an empty hotel code; guests' personal
    -- fields sealed as a store keeps them, with their blind indexes.
    record        jsonb       NOT NULL,
    guest_indexes jsonb       NOT NULL DEFAULT '[]',
    archive_key   text        NOT NULL DEFAULT '',
    -- Where the message came from; ordinal is the record's place in it.
    source        text        NOT NULL DEFAULT '',
    partition     text        NOT NULL DEFAULT '',
    position      text        NOT NULL DEFAULT '',
    ordinal       integer     NOT NULL DEFAULT 0,
    message_id    text        NOT NULL DEFAULT '',
    received_at   timestamptz NOT NULL,
    held_at       timestamptz NOT NULL DEFAULT now(),
    -- The dead letter's body if the record is never resolved, built as
    -- for any dead letter (0008): the redacted (and, with a keyring,
    -- sealed) message or its first 64 KiB, the whole message's size, and
    -- where the archive keeps the whole redacted message of a larger one.
    message       bytea       NOT NULL,
    message_bytes bigint      NOT NULL DEFAULT 0,
    truncated     boolean     NOT NULL DEFAULT false,
    letter_key    text        NOT NULL DEFAULT ''
);

-- A redelivered message (after a crash between the hold and the commit)
-- is held once.
CREATE UNIQUE INDEX pending_records_position_idx
    ON pending_records (source, partition, position, ordinal) WHERE position <> '';
-- Every store of a reservation looks its confirmation up here.
CREATE INDEX pending_records_confirmation_idx ON pending_records (confirmation, version);
-- The TTL sweep.
CREATE INDEX pending_records_held_at_idx ON pending_records (held_at);
