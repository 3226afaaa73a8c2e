-- Access audit of guests' personal data served by the API (issue 6): one
-- row per reservation per response that showed a scoped field (e-mail,
-- phone, loyalty number) unmasked. Written in batches by the API's
-- AccessAudit; append-only.
CREATE TABLE pii_access (
    id           bigserial   PRIMARY KEY,
    accessed_at  timestamptz NOT NULL,
    request_id   text        NOT NULL,
    -- 'partner': caller_id is the access key id. 'guest': caller_id is
    -- "sha256:" and the hex SHA-256 of the guest id, so that this table
    -- holds no e-mail address of its own.
    caller_kind  text        NOT NULL CHECK (caller_kind IN ('guest', 'partner')),
    caller_id    text        NOT NULL,
    hotel_code   text        NOT NULL,
    confirmation text        NOT NULL,
    fields       text[]      NOT NULL
);
CREATE INDEX pii_access_reservation_idx ON pii_access (hotel_code, confirmation, accessed_at);
CREATE INDEX pii_access_caller_idx ON pii_access (caller_kind, caller_id, accessed_at);
