package postgres

// The backfill's statements (resingest migrate, package migrate): its
// worker sessions' staging tables, the chunk merge, file progress and
// rejects. backfill.go runs them.

// stageTable is the worker connection's staging table. TEMPORARY: no WAL,
// private to the session, gone with it (see the package comment).
const stageTable = "backfill_stage"

const createStageSQL = `
CREATE TEMPORARY TABLE IF NOT EXISTS ` + stageTable + ` (
	line             bigint NOT NULL,
	hotel_code       text   NOT NULL,
	confirmation     text   NOT NULL,
	chain_code       text   NOT NULL,
	status           text   NOT NULL,
	action           text   NOT NULL,
	created_at       timestamptz,
	modified_at      timestamptz,
	arrival          date,
	departure        date,
	room_type        text   NOT NULL,
	rate_plan        text   NOT NULL,
	adults           int4   NOT NULL,
	children         int4   NOT NULL,
	total_after_tax  text   NOT NULL,
	total_before_tax text   NOT NULL,
	currency         text   NOT NULL,
	given_name       text   NOT NULL,
	surname          text   NOT NULL,
	email            text   NOT NULL,
	phone            text   NOT NULL,
	loyalty_number   text   NOT NULL,
	itinerary_id     text   NOT NULL,
	version          text   COLLATE "C" NOT NULL,
	email_index      text   NOT NULL,
	loyalty_index    text   NOT NULL,
	special_requests text   NOT NULL
)`

// sessionSQL tunes a worker's session. Enough work_mem keeps the merge's
// sorts in memory. No JIT: compiling takes longer than a chunk's
// statements run (probeSQL's cost penalties alone triggered it, 0.6 s a
// chunk). Commits wait for the WAL flush whatever the server's default
// (DESIGN.md, Storage: Durability): a load that reports a file done must
// not lose its last chunks to a server crash (their progress would go
// with them, but the run has already said "done"). It costs one WAL flush
// per chunk of DefaultChunkRows rows: no measurable difference (README,
// Durability). The pool (ParsePoolConfig) sets it too; it is repeated
// here for a pool opened by other means.
const sessionSQL = `SET work_mem = '64MB'; SET synchronous_commit = on; SET jit = off`

// stageColumns are the staging table's columns in COPY order.
var stageColumns = []string{
	"line", "hotel_code", "confirmation", "chain_code", "status", "action",
	"created_at", "modified_at", "arrival", "departure", "room_type", "rate_plan",
	"adults", "children", "total_after_tax", "total_before_tax", "currency",
	"given_name", "surname", "email", "phone", "loyalty_number", "itinerary_id", "version",
	"email_index", "loyalty_index", "special_requests",
}

// parentInsert inserts the reservations of a CTE named src (the staged
// rows), in key order: concurrent workers and the live pipeline (which
// also writes in key order) then lock shared keys in the same order.
const parentInsert = `INSERT INTO reservations AS r (
		hotel_code, confirmation, chain_code, status, action,
		message_type, message_id, message_time, created_at, modified_at,
		arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency,
		card_code, card_last4, card_expire, archive_key, version, stored_at, special_requests)
	SELECT hotel_code, confirmation, chain_code, status, action,
		'', '', NULL, created_at, modified_at,
		arrival, departure, adults, children,
		NULLIF(total_after_tax, '')::numeric, NULLIF(total_before_tax, '')::numeric, currency,
		'', '', '', '', version, now(), special_requests::jsonb
	FROM src
	ORDER BY hotel_code, confirmation`

// Child rows of a staged row (one room stay, one primary guest, the
// itinerary id when there is one), from a CTE named by %s.
const (
	roomStayInsert = `INSERT INTO reservation_room_stays AS o (hotel_code, confirmation, ordinal,
		room_type, rate_plan, units, arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency)
	SELECT hotel_code, confirmation, 0, room_type, rate_plan, 1, arrival, departure,
		adults, children, NULLIF(total_after_tax, '')::numeric,
		NULLIF(total_before_tax, '')::numeric, currency`
	guestInsert = `INSERT INTO reservation_guests AS o (hotel_code, confirmation, ordinal,
		is_primary, given_name, surname, email, phone, loyalty_program, loyalty_number,
		city, postal_code, country, email_index, loyalty_index)
	SELECT hotel_code, confirmation, 0, true, given_name, surname, email, phone, '',
		loyalty_number, '', '', '', email_index, loyalty_index`
	externalIDInsert = `INSERT INTO reservation_external_ids AS o (hotel_code, confirmation, ordinal,
		id_type, id_value, id_source)
	SELECT hotel_code, confirmation, 0, '` + ItineraryIDType + `', itinerary_id, ''`
)

// mergeSQL upserts the staged chunk's reservations, inserts the children of
// those it inserted, and returns the keys it wrote with whether the row is
// new.
//
// Parents are upserted in key order, so that concurrent workers and the
// live pipeline (which also writes in key order) lock shared keys in the
// same order. The WHERE of DO UPDATE is the live pipeline's version guard:
// an equal or newer stored version is left alone, and so are its children.
//
// A parent this statement inserted has no children (nobody else can add
// them while this transaction holds the new row), so its children are
// plainly inserted here, in the same statement: for a fresh load (the
// common case) this is the whole merge. Children of parents it updated are
// replaced by a second statement (mergeUpdatedSQL), not here: a
// statement's DELETE reads its starting snapshot, so it would miss
// children that a concurrent writer of the same key committed while this
// statement waited for that key's row lock, and leave them behind.
const mergeSQL = `
WITH src AS (
	-- One row per key: the chunk's newest (ChunkWrite.Rows).
	SELECT * FROM ` + stageTable + `
), upserted AS (
	` + parentInsert + `
` + upsertReservationGuard + `
	-- xmax is 0 on a row version this statement inserted (not updated).
	RETURNING r.hotel_code, r.confirmation, r.xmax = 0 AS inserted
), fresh AS (
	SELECT s.* FROM src s JOIN upserted u USING (hotel_code, confirmation) WHERE u.inserted
), new_room_stays AS (
	` + roomStayInsert + ` FROM fresh ORDER BY hotel_code, confirmation
), new_guests AS (
	` + guestInsert + ` FROM fresh ORDER BY hotel_code, confirmation
), new_external_ids AS (
	` + externalIDInsert + ` FROM fresh WHERE itinerary_id <> '' ORDER BY hotel_code, confirmation
)
SELECT hotel_code, confirmation, inserted FROM upserted`

// mergeUpdatedSQL replaces the children of the parents mergeSQL updated
// (copied to updatedTable by selectUpdatedSQL), as the stream's write does it: ordinal 0 is
// upserted when it differs and higher ordinals are deleted (the two touch
// disjoint rows). It runs after mergeSQL in the same transaction, so its
// snapshot includes every child committed by a writer that held a parent
// lock before mergeSQL took it.
const mergeUpdatedSQL = `
WITH updated AS (
	SELECT * FROM ` + updatedTable + `
), del_room_stays AS (
	DELETE FROM reservation_room_stays c USING updated w
	WHERE c.hotel_code = w.hotel_code AND c.confirmation = w.confirmation AND c.ordinal >= 1
), del_guests AS (
	DELETE FROM reservation_guests c USING updated w
	WHERE c.hotel_code = w.hotel_code AND c.confirmation = w.confirmation AND c.ordinal >= 1
), del_external_ids AS (
	DELETE FROM reservation_external_ids c USING updated w
	WHERE c.hotel_code = w.hotel_code AND c.confirmation = w.confirmation
		AND c.ordinal >= (w.itinerary_id <> '')::int
), ins_room_stays AS (
	` + roomStayInsert + `
	FROM updated
	ORDER BY hotel_code, confirmation
	` + upsertRoomStay + `
), ins_guests AS (
	` + guestInsert + `
	FROM updated
	ORDER BY hotel_code, confirmation
	` + upsertGuest + `
)
` + externalIDInsert + `
FROM updated
WHERE itinerary_id <> ''
ORDER BY hotel_code, confirmation
` + upsertExternalID

// updatedTable holds a chunk's staged rows whose parent mergeSQL updated
// (rather than inserted); usually few or none.
const updatedTable = "backfill_updated"

const createUpdatedSQL = `CREATE TEMPORARY TABLE IF NOT EXISTS ` + updatedTable + ` (LIKE ` + stageTable + `)`

// selectUpdatedSQL copies the staged rows of the keys $1, $2 (parallel
// arrays) to updatedTable.
const selectUpdatedSQL = `
INSERT INTO ` + updatedTable + `
SELECT s.* FROM unnest($1::text[], $2::text[]) AS k(hotel_code, confirmation)
JOIN ` + stageTable + ` s USING (hotel_code, confirmation)`

// probeSQL is how mergeUpdatedSQL should find the updated keys' children:
// updatedTable scanned once, the children by index, key by key. A
// temporary table has no statistics, and the planner's guess would
// otherwise lead it to scan the whole child tables, a cost that grows with
// every loaded chunk.
const probeSQL = `SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`

// fileStartSQL registers a file (first run) and returns its progress.
const fileStartSQL = `
WITH ins AS (
	INSERT INTO backfill_files (path, size) VALUES ($1, $2)
	ON CONFLICT (path) DO NOTHING
	RETURNING size, rows_done, lines_done, rejects, status
)
SELECT size, rows_done, lines_done, rejects, status FROM ins
UNION ALL
SELECT size, rows_done, lines_done, rejects, status FROM backfill_files WHERE path = $1
LIMIT 1`

const progressSQL = `
UPDATE backfill_files SET rows_done = $2, lines_done = $3, rejects = $4, updated_at = now()
WHERE path = $1`

const fileDoneSQL = `UPDATE backfill_files SET status = 'done', updated_at = now() WHERE path = $1`

const rejectsSQL = `
INSERT INTO backfill_rejects (path, line, reason)
SELECT $1, line, reason FROM unnest($2::bigint[], $3::text[]) AS t(line, reason)
ON CONFLICT (path, line) DO NOTHING`

// truncateStageSQL empties the session's staging tables before a chunk:
// they are the session's, so TRUNCATE is cheap and private.
const truncateStageSQL = "TRUNCATE " + stageTable + ", " + updatedTable

// chunkDoneSQL records a presorted chunk as done ($2 input rows).
const chunkDoneSQL = `
INSERT INTO backfill_files (path, size, rows_done, lines_done, status)
VALUES ($1, 0, $2, $2, 'done')
ON CONFLICT (path) DO NOTHING`

const chunksDoneSQL = `SELECT path FROM backfill_files WHERE path LIKE $1 AND status = 'done'`

// readRejectsSQL lists the rejects of the files $1.
const readRejectsSQL = `
		SELECT path, line, reason FROM backfill_rejects
		WHERE path = ANY($1) ORDER BY path, line`

// schemaNameSQL names the database and schema a load writes to.
const schemaNameSQL = `SELECT current_database() || '.' || current_schema()`
