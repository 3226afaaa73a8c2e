-- A dead letter keeps a bounded prefix of its (redacted, sealed) message:
-- message_bytes is the size of the whole message as received, truncated
-- says the message column holds only its first bytes, and archive_key,
-- when set, is the S3 key (in the archive bucket) of the whole redacted,
-- sealed message. Rows written before this migration hold whole messages.
ALTER TABLE dead_letters
    ADD COLUMN message_bytes bigint  NOT NULL DEFAULT 0,
    ADD COLUMN truncated     boolean NOT NULL DEFAULT false,
    ADD COLUMN archive_key   text    NOT NULL DEFAULT '';
UPDATE dead_letters SET message_bytes = octet_length(message) WHERE message_bytes = 0;
