-- Bulk EDW backfill (resingest migrate): progress per input file, committed
-- in the same transaction as each chunk's merge, so a restarted migration
-- continues after the last chunk that reached the tables.
CREATE TABLE backfill_files (
    path       text        PRIMARY KEY,  -- absolute path (or URL) of the input
    size       bigint      NOT NULL,     -- bytes when the load began; a changed file is refused
    rows_done  bigint      NOT NULL DEFAULT 0, -- well-formed rows merged so far
    lines_done bigint      NOT NULL DEFAULT 0, -- data records consumed (rows + rejects)
    rejects    bigint      NOT NULL DEFAULT 0, -- malformed rows so far
    status     text        NOT NULL DEFAULT 'loading', -- loading | done
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Malformed input rows: where and why, never the row's content (it holds
-- personal data). Written with their chunk, so a resumed run reports each
-- exactly once.
CREATE TABLE backfill_rejects (
    path   text   NOT NULL,
    line   bigint NOT NULL, -- line number in the (decompressed) file, header = 1
    reason text   NOT NULL,
    PRIMARY KEY (path, line)
);
