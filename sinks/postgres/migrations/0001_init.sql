-- Reservations as the stream and the backfill store them: one row per
-- (hotel_code, confirmation), replaced only by a newer version.
--
-- version is reservation.Version.String(): fixed width, so byte order is
-- version order. COLLATE "C" makes "<" compare bytes whatever the
-- database's default collation is; the write path relies on it.
CREATE TABLE reservations (
    hotel_code       text        NOT NULL,
    confirmation     text        NOT NULL,
    chain_code       text        NOT NULL DEFAULT '',
    status           text        NOT NULL DEFAULT '',
    action           text        NOT NULL,
    message_type     text        NOT NULL DEFAULT '',
    message_id       text        NOT NULL DEFAULT '',
    message_time     timestamptz,
    created_at       timestamptz,
    modified_at      timestamptz,
    arrival          date,
    departure        date,
    adults           integer     NOT NULL DEFAULT 0,
    children         integer     NOT NULL DEFAULT 0,
    total_after_tax  numeric,
    total_before_tax numeric,
    currency         text        NOT NULL DEFAULT '',
    card_code        text        NOT NULL DEFAULT '',
    card_last4       text        NOT NULL DEFAULT '',
    card_expire      text        NOT NULL DEFAULT '',
    archive_key      text        NOT NULL DEFAULT '',
    version          text        COLLATE "C" NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hotel_code, confirmation)
);

-- The API lists a hotel's arrivals by date.
CREATE INDEX reservations_hotel_arrival_idx ON reservations (hotel_code, arrival);

-- Child rows keep the order of the record in ordinal (0, 1, ...). When
-- their parent is updated the write path upserts ordinals 0..n-1 (a row
-- that did not change is not rewritten) and deletes those from n on.
CREATE TABLE reservation_room_stays (
    hotel_code       text    NOT NULL,
    confirmation     text    NOT NULL,
    ordinal          integer NOT NULL,
    room_type        text    NOT NULL DEFAULT '',
    rate_plan        text    NOT NULL DEFAULT '',
    units            integer NOT NULL DEFAULT 0,
    arrival          date,
    departure        date,
    adults           integer NOT NULL DEFAULT 0,
    children         integer NOT NULL DEFAULT 0,
    total_after_tax  numeric,
    total_before_tax numeric,
    currency         text    NOT NULL DEFAULT '',
    PRIMARY KEY (hotel_code, confirmation, ordinal),
    FOREIGN KEY (hotel_code, confirmation)
        REFERENCES reservations (hotel_code, confirmation) ON DELETE CASCADE
);

-- Guests hold personal data. email and loyalty_number are plain values for
-- now; a later migration replaces them by blind indexes.
CREATE TABLE reservation_guests (
    hotel_code      text    NOT NULL,
    confirmation    text    NOT NULL,
    ordinal         integer NOT NULL,
    is_primary      boolean NOT NULL DEFAULT false,
    given_name      text    NOT NULL DEFAULT '',
    surname         text    NOT NULL DEFAULT '',
    email           text    NOT NULL DEFAULT '',
    phone           text    NOT NULL DEFAULT '',
    loyalty_program text    NOT NULL DEFAULT '',
    loyalty_number  text    NOT NULL DEFAULT '',
    city            text    NOT NULL DEFAULT '',
    postal_code     text    NOT NULL DEFAULT '',
    country         text    NOT NULL DEFAULT '',
    PRIMARY KEY (hotel_code, confirmation, ordinal),
    FOREIGN KEY (hotel_code, confirmation)
        REFERENCES reservations (hotel_code, confirmation) ON DELETE CASCADE
);

-- Guest lookups: by email (case-insensitive: query with lower(email)) and by
-- loyalty number. Empty values are left out; nobody looks them up.
CREATE INDEX reservation_guests_email_idx ON reservation_guests (lower(email)) WHERE email <> '';
CREATE INDEX reservation_guests_loyalty_idx ON reservation_guests (loyalty_number) WHERE loyalty_number <> '';

CREATE TABLE reservation_external_ids (
    hotel_code   text    NOT NULL,
    confirmation text    NOT NULL,
    ordinal      integer NOT NULL,
    id_type      text    NOT NULL DEFAULT '',
    id_value     text    NOT NULL DEFAULT '',
    id_source    text    NOT NULL DEFAULT '',
    PRIMARY KEY (hotel_code, confirmation, ordinal),
    FOREIGN KEY (hotel_code, confirmation)
        REFERENCES reservations (hotel_code, confirmation) ON DELETE CASCADE
);

-- Itinerary lookups: an itinerary or CRS number is one of the external ids.
CREATE INDEX reservation_external_ids_value_idx ON reservation_external_ids (id_value) WHERE id_value <> '';

-- One row per message the pipeline handled, whatever happened to it.
CREATE TABLE audit (
    id          bigserial   PRIMARY KEY,
    message_id  text        NOT NULL DEFAULT '',
    source      text        NOT NULL DEFAULT '',
    partition   text        NOT NULL DEFAULT '',
    position    text        NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    outcome     text        NOT NULL,
    error       text        NOT NULL DEFAULT '',
    latency     interval    NOT NULL DEFAULT '0'
);

CREATE INDEX audit_message_id_idx ON audit (message_id) WHERE message_id <> '';
-- A redelivered message (after a crash between store and commit) must not
-- get a second row: the source position identifies the message.
CREATE UNIQUE INDEX audit_position_idx ON audit (source, partition, position) WHERE position <> '';
CREATE INDEX audit_received_at_idx ON audit (received_at);

-- Poison messages, redacted, with where they came from and why they failed.
CREATE TABLE dead_letters (
    id          bigserial   PRIMARY KEY,
    source      text        NOT NULL DEFAULT '',
    partition   text        NOT NULL DEFAULT '',
    position    text        NOT NULL DEFAULT '',
    message_id  text        NOT NULL DEFAULT '',
    message     bytea       NOT NULL,
    reason      text        NOT NULL,
    received_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz
);

-- Replay walks the letters not yet replayed, oldest first.
CREATE INDEX dead_letters_pending_idx ON dead_letters (id) WHERE replayed_at IS NULL;
-- One letter per source position, however often the message is redelivered.
CREATE UNIQUE INDEX dead_letters_position_idx ON dead_letters (source, partition, position) WHERE position <> '';
