-- Field-level encryption of guest PII (package pii).

-- Wrapped data keys and the blind-index key. "wrapped" is useless without
-- the key-encryption key named by kek_id (KMS or a local key file).
CREATE TABLE pii_keys (
    version    text        PRIMARY KEY,
    purpose    text        NOT NULL CHECK (purpose IN ('data', 'index')),
    kek_id     text        NOT NULL,
    wrapped    bytea       NOT NULL,
    is_current boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pii_keys_one_current ON pii_keys (is_current) WHERE is_current;

-- Guest fields now hold sealed values ("pii1:<version>:..."); lookups use
-- blind indexes (keyed HMAC of the normalised e-mail / loyalty number).
ALTER TABLE reservation_guests
    ADD COLUMN email_index   text NOT NULL DEFAULT '',
    ADD COLUMN loyalty_index text NOT NULL DEFAULT '';
CREATE INDEX reservation_guests_email_index_idx ON reservation_guests (email_index) WHERE email_index <> '';
CREATE INDEX reservation_guests_loyalty_index_idx ON reservation_guests (loyalty_index) WHERE loyalty_index <> '';
-- The plain-value indexes are useless on sealed values.
DROP INDEX IF EXISTS reservation_guests_email_idx;
DROP INDEX IF EXISTS reservation_guests_loyalty_idx;

-- Retention: when a reservation's guest data was anonymised.
ALTER TABLE reservations ADD COLUMN pii_purged_at timestamptz;

-- Progress of resumable PII jobs over DynamoDB (re-encryption, purge):
-- the scan's last evaluated key per job and segment.
CREATE TABLE pii_jobs (
    job        text        NOT NULL,
    segment    integer     NOT NULL,
    cursor     text        NOT NULL DEFAULT '',
    done       boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, segment)
);
