package postgres

import "strings"

// The write of a batch is two statements in one transaction (one round
// trip each, see writeWinners), parents first.
//
// writeParentsSQL upserts the parents; its parameters are the parent column
// arrays of columns.parentArgs. Keys must be unique in the batch (Write
// collapses them first: ON CONFLICT DO UPDATE cannot touch a row twice in
// one statement). A stored row with a version not older than the record's
// is left alone (the WHERE of DO UPDATE). Parents are upserted in key order
// so that concurrent batches lock shared keys in the same order instead of
// deadlocking. Every conflicting row is locked, written or not, until the
// transaction ends.
//
// The final SELECT reads reservations in the statement's starting snapshot:
// for a record that was not written, it returns the version that was stored
// before, from which Write tells Stale from Duplicate. It also tells which
// parents the statement inserted (rather than updated): those have no
// children, and writeChildrenSQL inserts theirs plainly.
const writeParentsSQL = `
WITH input AS (
	SELECT * FROM unnest(
		$1::int4[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
		$12::date[], $13::date[], $14::int4[], $15::int4[],
		$16::text[], $17::text[], $18::text[],
		$19::text[], $20::text[], $21::text[], $22::text[], $23::text[],
		$24::int4[], $25::int4[], $26::int4[], $27::text[]
	) AS t(idx, hotel_code, confirmation, chain_code, status, action,
		message_type, message_id, message_time, created_at, modified_at,
		arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency,
		card_code, card_last4, card_expire, archive_key, version,
		n_room_stays, n_guests, n_external_ids, special_requests)
), upserted AS (
	INSERT INTO reservations AS r (
		hotel_code, confirmation, chain_code, status, action,
		message_type, message_id, message_time, created_at, modified_at,
		arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency,
		card_code, card_last4, card_expire, archive_key, version, stored_at, special_requests)
	SELECT hotel_code, confirmation, chain_code, status, action,
		message_type, message_id, message_time, created_at, modified_at,
		arrival, departure, adults, children,
		NULLIF(total_after_tax, '')::numeric, NULLIF(total_before_tax, '')::numeric, currency,
		card_code, card_last4, card_expire, archive_key, version, now(), special_requests::jsonb
	FROM input
	ORDER BY hotel_code, confirmation
` + upsertReservationGuard + `
	-- xmax is 0 on a row version this statement inserted (not updated).
	RETURNING r.hotel_code, r.confirmation, r.xmax = 0 AS inserted
), written AS (
	SELECT i.idx, u.inserted FROM input i JOIN upserted u USING (hotel_code, confirmation)
)
SELECT i.idx, w.idx IS NOT NULL AS stored, coalesce(w.inserted, false) AS inserted, r.version AS previous
FROM input i
LEFT JOIN written w ON w.idx = i.idx
LEFT JOIN reservations r ON r.hotel_code = i.hotel_code AND r.confirmation = i.confirmation`

// writeChildrenSQL replaces the children of the parents the transaction
// wrote (columns.childArgs). For a parent writeParentsSQL updated,
// ordinals 0..n-1 are upserted (rows that did not change are not
// rewritten, which spares the indexes) and ordinals from n on are deleted.
// A parent it inserted ($39, fresh) has no children: nobody else can add
// them while this transaction holds the new row, and resingest never
// deletes a reservation. Its children are plainly inserted, which costs
// Postgres much less than an upsert (no speculative insertion, no arbiter
// probe per row). The DELETEs still run for it: a reservation deleted by
// hand without its children (migration 0012) leaves rows that its next
// version must replace. Those beyond the new lists are deleted; one under
// them makes the plain insert fail (unique_violation), and Write writes
// the batch again with every parent treated as updated.
//
// It runs as a second statement so that its snapshot includes every child
// row committed by a writer that held a parent lock before writeParentsSQL
// took it; in one statement, the DELETEs would miss such rows and leave
// stale children behind. The parent locks held since writeParentsSQL keep
// other writers out until commit.
var writeChildrenSQL = `
WITH input AS (
	SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[],
		$34::int4[], $35::int4[], $36::int4[], $39::bool[])
		AS t(idx, hotel_code, confirmation, version, n_room_stays, n_guests, n_external_ids, fresh)
), written AS (
	-- The parents this transaction wrote (or found at exactly this version,
	-- whose children are then rewritten to what they already are).
	SELECT i.idx, i.hotel_code, i.confirmation, i.n_room_stays, i.n_guests, i.n_external_ids, i.fresh
	FROM input i JOIN reservations r USING (hotel_code, confirmation)
	WHERE r.version = i.version
), del_room_stays AS (
	DELETE FROM reservation_room_stays c USING written w
	WHERE c.hotel_code = w.hotel_code AND c.confirmation = w.confirmation
		AND c.ordinal >= w.n_room_stays
), del_guests AS (
	DELETE FROM reservation_guests c USING written w
	WHERE c.hotel_code = w.hotel_code AND c.confirmation = w.confirmation
		AND c.ordinal >= w.n_guests
), del_external_ids AS (
	DELETE FROM reservation_external_ids c USING written w
	WHERE c.hotel_code = w.hotel_code AND c.confirmation = w.confirmation
		AND c.ordinal >= w.n_external_ids
)` + childWrites("room_stays", streamRoomStays, upsertRoomStay) +
	childWrites("guests", streamGuests, upsertGuest) +
	childWrites("external_ids", streamExternalIDs, upsertExternalID) + `
SELECT count(*) FROM written`

// childWrites returns the two CTEs that write one child table from the
// batch: new_<name> inserts the children of fresh parents, ins_<name>
// upserts those of the others. insert is the INSERT ... SELECT ... JOIN
// written w of the table.
func childWrites(name, insert, upsert string) string {
	return `, new_` + name + ` AS (
	` + insert + ` WHERE w.fresh
), ins_` + name + ` AS (
	` + insert + ` WHERE NOT w.fresh
	` + upsert + `
)`
}

// The INSERT ... SELECT of each child table from the batch's arrays
// (columns.childArgs), joined to the written parents.
const (
	streamRoomStays = `INSERT INTO reservation_room_stays AS o (hotel_code, confirmation, ordinal,
		room_type, rate_plan, units, arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency)
	SELECT w.hotel_code, w.confirmation, c.ordinal,
		c.room_type, c.rate_plan, c.units, c.arrival, c.departure, c.adults, c.children,
		NULLIF(c.total_after_tax, '')::numeric, NULLIF(c.total_before_tax, '')::numeric, c.currency
	FROM unnest($5::int4[], $6::int4[], $7::text[], $8::text[], $9::int4[],
		$10::date[], $11::date[], $12::int4[], $13::int4[],
		$14::text[], $15::text[], $16::text[])
		AS c(parent, ordinal, room_type, rate_plan, units, arrival, departure,
			adults, children, total_after_tax, total_before_tax, currency)
	JOIN written w ON w.idx = c.parent`
	streamGuests = `INSERT INTO reservation_guests AS o (hotel_code, confirmation, ordinal,
		is_primary, given_name, surname, email, phone, loyalty_program, loyalty_number,
		city, postal_code, country, email_index, loyalty_index)
	SELECT w.hotel_code, w.confirmation, c.ordinal,
		c.is_primary, c.given_name, c.surname, c.email, c.phone, c.loyalty_program,
		c.loyalty_number, c.city, c.postal_code, c.country, c.email_index, c.loyalty_index
	FROM unnest($17::int4[], $18::int4[], $19::bool[], $20::text[], $21::text[],
		$22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::text[], $28::text[],
		$37::text[], $38::text[])
		AS c(parent, ordinal, is_primary, given_name, surname, email, phone,
			loyalty_program, loyalty_number, city, postal_code, country, email_index, loyalty_index)
	JOIN written w ON w.idx = c.parent`
	streamExternalIDs = `INSERT INTO reservation_external_ids AS o (hotel_code, confirmation, ordinal,
		id_type, id_value, id_source)
	SELECT w.hotel_code, w.confirmation, c.ordinal, c.id_type, c.id_value, c.id_source
	FROM unnest($29::int4[], $30::int4[], $31::text[], $32::text[], $33::text[])
		AS c(parent, ordinal, id_type, id_value, id_source)
	JOIN written w ON w.idx = c.parent`
)

// The ON CONFLICT clauses of the child tables' upserts (INSERT INTO <table>
// AS o): an existing row is rewritten only when a column differs, which
// spares its indexes. The stream's write and the backfill's merge share
// them, so a column added to a child table is added once.
const (
	upsertRoomStay = `ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
		room_type = EXCLUDED.room_type, rate_plan = EXCLUDED.rate_plan, units = EXCLUDED.units,
		arrival = EXCLUDED.arrival, departure = EXCLUDED.departure, adults = EXCLUDED.adults,
		children = EXCLUDED.children, total_after_tax = EXCLUDED.total_after_tax,
		total_before_tax = EXCLUDED.total_before_tax, currency = EXCLUDED.currency
	-- Amounts compare as text: 12.5 = 12.50 as numbers, but the record
	-- keeps the scale it was given.
	WHERE (o.room_type, o.rate_plan, o.units, o.arrival, o.departure, o.adults, o.children,
			o.total_after_tax::text, o.total_before_tax::text, o.currency)
		IS DISTINCT FROM (EXCLUDED.room_type, EXCLUDED.rate_plan, EXCLUDED.units,
			EXCLUDED.arrival, EXCLUDED.departure, EXCLUDED.adults, EXCLUDED.children,
			EXCLUDED.total_after_tax::text, EXCLUDED.total_before_tax::text, EXCLUDED.currency)`
	upsertGuest = `ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
		is_primary = EXCLUDED.is_primary, given_name = EXCLUDED.given_name,
		surname = EXCLUDED.surname, email = EXCLUDED.email, phone = EXCLUDED.phone,
		loyalty_program = EXCLUDED.loyalty_program, loyalty_number = EXCLUDED.loyalty_number,
		city = EXCLUDED.city, postal_code = EXCLUDED.postal_code, country = EXCLUDED.country,
		email_index = EXCLUDED.email_index, loyalty_index = EXCLUDED.loyalty_index
	WHERE (o.is_primary, o.given_name, o.surname, o.email, o.phone, o.loyalty_program,
			o.loyalty_number, o.city, o.postal_code, o.country, o.email_index, o.loyalty_index)
		IS DISTINCT FROM (EXCLUDED.is_primary, EXCLUDED.given_name, EXCLUDED.surname,
			EXCLUDED.email, EXCLUDED.phone, EXCLUDED.loyalty_program, EXCLUDED.loyalty_number,
			EXCLUDED.city, EXCLUDED.postal_code, EXCLUDED.country, EXCLUDED.email_index,
			EXCLUDED.loyalty_index)`
	upsertExternalID = `ON CONFLICT (hotel_code, confirmation, ordinal) DO UPDATE SET
		id_type = EXCLUDED.id_type, id_value = EXCLUDED.id_value, id_source = EXCLUDED.id_source
	WHERE (o.id_type, o.id_value, o.id_source)
		IS DISTINCT FROM (EXCLUDED.id_type, EXCLUDED.id_value, EXCLUDED.id_source)`
)

// writeParentsRefreshSQL is writeParentsSQL whose guard also replaces a
// stored row of the same version (Options.RewriteEqual); the children
// statement rewrites the children of parents found at the record's version
// already.
var writeParentsRefreshSQL = strings.Replace(writeParentsSQL, guardOlder, guardOlderOrEqual, 1)

// The version guard of upsertReservationGuard, and its refresh variant.
const (
	guardOlder        = "WHERE r.version < EXCLUDED.version"
	guardOlderOrEqual = "WHERE r.version <= EXCLUDED.version"
)

// upsertReservationGuard ends an INSERT INTO reservations AS r: on a key
// already stored it replaces every column, but only when the new version is
// greater (the version guard). The live write path and the backfill's merge
// share it, so both apply the same rule.
const upsertReservationGuard = `
	ON CONFLICT (hotel_code, confirmation) DO UPDATE SET
		chain_code = EXCLUDED.chain_code, status = EXCLUDED.status, action = EXCLUDED.action,
		message_type = EXCLUDED.message_type, message_id = EXCLUDED.message_id,
		message_time = EXCLUDED.message_time, created_at = EXCLUDED.created_at,
		modified_at = EXCLUDED.modified_at, arrival = EXCLUDED.arrival,
		departure = EXCLUDED.departure, adults = EXCLUDED.adults, children = EXCLUDED.children,
		total_after_tax = EXCLUDED.total_after_tax, total_before_tax = EXCLUDED.total_before_tax,
		currency = EXCLUDED.currency, card_code = EXCLUDED.card_code,
		card_last4 = EXCLUDED.card_last4, card_expire = EXCLUDED.card_expire,
		archive_key = EXCLUDED.archive_key, version = EXCLUDED.version,
		stored_at = EXCLUDED.stored_at, special_requests = EXCLUDED.special_requests,
		pii_purged_at = NULL -- a newer version brings guests' data back: purge may take it again
	` + guardOlder + `
`

// versionsSQL reads the stored versions of keys whose outcome writeParentsSQL's
// snapshot could not tell (a concurrent writer got there first).
const versionsSQL = `
SELECT r.hotel_code, r.confirmation, r.version
FROM unnest($1::text[], $2::text[]) AS k(hotel_code, confirmation)
JOIN reservations r USING (hotel_code, confirmation)`
