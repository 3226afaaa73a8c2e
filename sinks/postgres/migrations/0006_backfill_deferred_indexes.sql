-- Secondary indexes of the reservation tables that a bulk backfill
-- (resingest migrate --defer-indexes) dropped for the length of its load:
-- maintaining them row by row costs more than twice the load itself,
-- building them once afterwards a fraction of it. Each row is written in
-- the transaction that drops its index and deleted in the one that builds
-- it again, so a killed backfill leaves here exactly what it still owes;
-- the next run of migrate builds it.
CREATE TABLE backfill_deferred_indexes (
    name       text        PRIMARY KEY, -- the index (in this schema)
    table_name text        NOT NULL,
    definition text        NOT NULL,    -- pg_get_indexdef(): the CREATE INDEX statement
    dropped_at timestamptz NOT NULL DEFAULT now()
);
