package migrate

import "github.com/resingest/resingest/sinks/postgres"

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
	version          text   COLLATE "C" NOT NULL
)`

// sessionSQL tunes a worker's session. The merge sorts a chunk twice:
// enough work_mem keeps the sorts in memory. Commits need not wait for the
// WAL flush: progress commits atomically with its chunk, so a server crash
// loses both together and the restarted load redoes them.
const sessionSQL = `SET work_mem = '64MB'; SET synchronous_commit = off`

// writtenTable holds, per chunk, the staged lines whose parent row the
// merge wrote.
const writtenTable = "backfill_written"

const createWrittenSQL = `
CREATE TEMPORARY TABLE IF NOT EXISTS ` + writtenTable + ` (
	line     bigint  PRIMARY KEY,
	inserted boolean NOT NULL -- a new reservation: it has no children yet
)`

// stageColumns are the staging table's columns in COPY order.
var stageColumns = []string{
	"line", "hotel_code", "confirmation", "chain_code", "status", "action",
	"created_at", "modified_at", "arrival", "departure", "room_type", "rate_plan",
	"adults", "children", "total_after_tax", "total_before_tax", "currency",
	"given_name", "surname", "email", "phone", "loyalty_number", "itinerary_id", "version",
}

// mergeParentsSQL upserts the staged chunk's reservations, records the
// lines it wrote in writtenTable and returns their keys.
//
// src keeps one row per key: the newest version, the later line on a tie
// (row.newer is the same rule in Go). Parents are upserted in key order, so
// that concurrent workers and the live pipeline (which also writes in key
// order) lock shared keys in the same order. The WHERE of DO UPDATE is the
// live pipeline's version guard: an equal or newer stored version is left
// alone, and so are its children.
//
// The children are replaced by a second statement (mergeChildrenSQL), not
// in this one: a statement's DELETE reads its starting snapshot, so it
// would miss children that a concurrent writer of the same key committed
// while this statement waited for that key's row lock, and leave them
// behind. The second statement starts after the locks are held, so it sees
// them.
const mergeParentsSQL = `
WITH src AS (
	SELECT DISTINCT ON (hotel_code, confirmation) *
	FROM ` + stageTable + `
	ORDER BY hotel_code, confirmation, version DESC, line DESC
), upserted AS (
	INSERT INTO reservations AS r (
		hotel_code, confirmation, chain_code, status, action,
		message_type, message_id, message_time, created_at, modified_at,
		arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency,
		card_code, card_last4, card_expire, archive_key, version, stored_at)
	SELECT hotel_code, confirmation, chain_code, status, action,
		'', '', NULL, created_at, modified_at,
		arrival, departure, adults, children,
		NULLIF(total_after_tax, '')::numeric, NULLIF(total_before_tax, '')::numeric, currency,
		'', '', '', '', version, now()
	FROM src
	ORDER BY hotel_code, confirmation
` + postgres.UpsertReservationGuard + `
	-- xmax is 0 on a row version this statement inserted (not updated).
	RETURNING r.hotel_code, r.confirmation, r.xmax = 0 AS inserted
), written AS (
	INSERT INTO ` + writtenTable + ` (line, inserted)
	SELECT s.line, u.inserted FROM src s JOIN upserted u USING (hotel_code, confirmation)
)
SELECT hotel_code, confirmation FROM upserted`

// mergeChildrenSQL replaces the children of the parents mergeParentsSQL
// wrote. A new parent has none (nobody else can add them while this
// transaction holds its row), so its children are plainly inserted. An
// updated parent's are replaced as the stream's write does it: ordinal 0
// is upserted when it differs and higher ordinals are deleted (the two
// touch disjoint rows).
const mergeChildrenSQL = `
WITH written AS (
	SELECT s.*, w.inserted FROM ` + stageTable + ` s JOIN ` + writtenTable + ` w USING (line)
), updated AS (
	SELECT * FROM written WHERE NOT inserted
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
), new_room_stays AS (
	INSERT INTO reservation_room_stays (hotel_code, confirmation, ordinal,
		room_type, rate_plan, units, arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency)
	SELECT hotel_code, confirmation, 0, room_type, rate_plan, 1, arrival, departure,
		adults, children, NULLIF(total_after_tax, '')::numeric,
		NULLIF(total_before_tax, '')::numeric, currency
	FROM written WHERE inserted
	ORDER BY hotel_code, confirmation
), new_guests AS (
	INSERT INTO reservation_guests (hotel_code, confirmation, ordinal,
		is_primary, given_name, surname, email, phone, loyalty_program, loyalty_number,
		city, postal_code, country)
	SELECT hotel_code, confirmation, 0, true, given_name, surname, email, phone, '',
		loyalty_number, '', '', ''
	FROM written WHERE inserted
	ORDER BY hotel_code, confirmation
), new_external_ids AS (
	INSERT INTO reservation_external_ids (hotel_code, confirmation, ordinal,
		id_type, id_value, id_source)
	SELECT hotel_code, confirmation, 0, '` + ItineraryIDType + `', itinerary_id, ''
	FROM written WHERE inserted AND itinerary_id <> ''
	ORDER BY hotel_code, confirmation
), ins_room_stays AS (
	INSERT INTO reservation_room_stays AS o (hotel_code, confirmation, ordinal,
		room_type, rate_plan, units, arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency)
	SELECT hotel_code, confirmation, 0, room_type, rate_plan, 1, arrival, departure,
		adults, children, NULLIF(total_after_tax, '')::numeric,
		NULLIF(total_before_tax, '')::numeric, currency
	FROM updated
	ORDER BY hotel_code, confirmation
	ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
		room_type = EXCLUDED.room_type, rate_plan = EXCLUDED.rate_plan, units = EXCLUDED.units,
		arrival = EXCLUDED.arrival, departure = EXCLUDED.departure, adults = EXCLUDED.adults,
		children = EXCLUDED.children, total_after_tax = EXCLUDED.total_after_tax,
		total_before_tax = EXCLUDED.total_before_tax, currency = EXCLUDED.currency
	WHERE (o.room_type, o.rate_plan, o.units, o.arrival, o.departure, o.adults, o.children,
			o.total_after_tax::text, o.total_before_tax::text, o.currency)
		IS DISTINCT FROM (EXCLUDED.room_type, EXCLUDED.rate_plan, EXCLUDED.units,
			EXCLUDED.arrival, EXCLUDED.departure, EXCLUDED.adults, EXCLUDED.children,
			EXCLUDED.total_after_tax::text, EXCLUDED.total_before_tax::text, EXCLUDED.currency)
), ins_guests AS (
	INSERT INTO reservation_guests AS o (hotel_code, confirmation, ordinal,
		is_primary, given_name, surname, email, phone, loyalty_program, loyalty_number,
		city, postal_code, country)
	SELECT hotel_code, confirmation, 0, true, given_name, surname, email, phone, '',
		loyalty_number, '', '', ''
	FROM updated
	ORDER BY hotel_code, confirmation
	ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
		is_primary = EXCLUDED.is_primary, given_name = EXCLUDED.given_name,
		surname = EXCLUDED.surname, email = EXCLUDED.email, phone = EXCLUDED.phone,
		loyalty_program = EXCLUDED.loyalty_program, loyalty_number = EXCLUDED.loyalty_number,
		city = EXCLUDED.city, postal_code = EXCLUDED.postal_code, country = EXCLUDED.country
	WHERE (o.is_primary, o.given_name, o.surname, o.email, o.phone, o.loyalty_program,
			o.loyalty_number, o.city, o.postal_code, o.country)
		IS DISTINCT FROM (EXCLUDED.is_primary, EXCLUDED.given_name, EXCLUDED.surname,
			EXCLUDED.email, EXCLUDED.phone, EXCLUDED.loyalty_program, EXCLUDED.loyalty_number,
			EXCLUDED.city, EXCLUDED.postal_code, EXCLUDED.country)
)
INSERT INTO reservation_external_ids AS o (hotel_code, confirmation, ordinal,
	id_type, id_value, id_source)
SELECT hotel_code, confirmation, 0, '` + ItineraryIDType + `', itinerary_id, ''
FROM updated
WHERE itinerary_id <> ''
ORDER BY hotel_code, confirmation
ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
	id_type = EXCLUDED.id_type, id_value = EXCLUDED.id_value, id_source = EXCLUDED.id_source
WHERE (o.id_type, o.id_value, o.id_source)
	IS DISTINCT FROM (EXCLUDED.id_type, EXCLUDED.id_value, EXCLUDED.id_source)`

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
