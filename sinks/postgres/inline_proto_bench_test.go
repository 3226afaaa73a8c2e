package postgres

// The inline layout BenchmarkChildLayouts evaluates (not adopted, see the
// README's "Denser layouts"): a reservation's room stays and external ids
// as parallel arrays in its own row, and views named like the tables they
// replace. A prototype of a migration, the write statements and getSQL.

// inlineDDL turns a migrated database into the inline layout, moving the
// rows the child tables hold.
const inlineDDL = `
ALTER TABLE reservations
    ADD COLUMN stays_room_type        text[]             NOT NULL DEFAULT '{}',
    ADD COLUMN stays_rate_plan        text[]             NOT NULL DEFAULT '{}',
    ADD COLUMN stays_units            integer[]          NOT NULL DEFAULT '{}',
    ADD COLUMN stays_arrival          date[]             NOT NULL DEFAULT '{}',
    ADD COLUMN stays_departure        date[]             NOT NULL DEFAULT '{}',
    ADD COLUMN stays_adults           integer[]          NOT NULL DEFAULT '{}',
    ADD COLUMN stays_children         integer[]          NOT NULL DEFAULT '{}',
    ADD COLUMN stays_total_after_tax  numeric[]          NOT NULL DEFAULT '{}',
    ADD COLUMN stays_total_before_tax numeric[]          NOT NULL DEFAULT '{}',
    ADD COLUMN stays_currency         text[]             NOT NULL DEFAULT '{}',
    ADD COLUMN ids_type               text[]             NOT NULL DEFAULT '{}',
    ADD COLUMN ids_value              text[] COLLATE "C" NOT NULL DEFAULT '{}',
    ADD COLUMN ids_source             text[]             NOT NULL DEFAULT '{}';

UPDATE reservations r SET
    stays_room_type = s.room_type, stays_rate_plan = s.rate_plan, stays_units = s.units,
    stays_arrival = s.arrival, stays_departure = s.departure, stays_adults = s.adults,
    stays_children = s.children, stays_total_after_tax = s.total_after_tax,
    stays_total_before_tax = s.total_before_tax, stays_currency = s.currency
FROM (
    SELECT hotel_code, confirmation,
        array_agg(room_type ORDER BY ordinal) AS room_type, array_agg(rate_plan ORDER BY ordinal) AS rate_plan,
        array_agg(units ORDER BY ordinal) AS units, array_agg(arrival ORDER BY ordinal) AS arrival,
        array_agg(departure ORDER BY ordinal) AS departure, array_agg(adults ORDER BY ordinal) AS adults,
        array_agg(children ORDER BY ordinal) AS children,
        array_agg(total_after_tax ORDER BY ordinal) AS total_after_tax,
        array_agg(total_before_tax ORDER BY ordinal) AS total_before_tax,
        array_agg(currency ORDER BY ordinal) AS currency
    FROM reservation_room_stays GROUP BY hotel_code, confirmation
) s
WHERE r.hotel_code = s.hotel_code AND r.confirmation = s.confirmation;

UPDATE reservations r SET ids_type = x.id_type, ids_value = x.id_value, ids_source = x.id_source
FROM (
    SELECT hotel_code, confirmation, array_agg(id_type ORDER BY ordinal) AS id_type,
        array_agg(id_value ORDER BY ordinal) AS id_value, array_agg(id_source ORDER BY ordinal) AS id_source
    FROM reservation_external_ids GROUP BY hotel_code, confirmation
) x
WHERE r.hotel_code = x.hotel_code AND r.confirmation = x.confirmation;

DROP TABLE reservation_room_stays;
DROP TABLE reservation_external_ids;

-- The views have the tables' columns; ordinal counts from 0.
CREATE VIEW reservation_room_stays AS
SELECT r.hotel_code, r.confirmation, (s.n - 1)::integer AS ordinal,
    s.room_type, s.rate_plan, s.units, s.arrival, s.departure, s.adults, s.children,
    s.total_after_tax, s.total_before_tax, s.currency
FROM reservations r,
    unnest(r.stays_room_type, r.stays_rate_plan, r.stays_units, r.stays_arrival, r.stays_departure,
        r.stays_adults, r.stays_children, r.stays_total_after_tax, r.stays_total_before_tax, r.stays_currency)
        WITH ORDINALITY AS s(room_type, rate_plan, units, arrival, departure, adults, children,
            total_after_tax, total_before_tax, currency, n);

CREATE VIEW reservation_external_ids AS
SELECT r.hotel_code, r.confirmation, (x.n - 1)::integer AS ordinal,
    x.id_type, x.id_value, x.id_source
FROM reservations r,
    unnest(r.ids_type, r.ids_value, r.ids_source) WITH ORDINALITY AS x(id_type, id_value, id_source, n);
`

const inlineWriteParentsSQL = `
WITH input AS (
	SELECT * FROM unnest(
		$1::int4[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
		$12::date[], $13::date[], $14::int4[], $15::int4[],
		$16::text[], $17::text[], $18::text[],
		$19::text[], $20::text[], $21::text[], $22::text[], $23::text[],
		$24::int4[], $25::int4[], $26::int4[]
	) AS t(idx, hotel_code, confirmation, chain_code, status, action,
		message_type, message_id, message_time, created_at, modified_at,
		arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency,
		card_code, card_last4, card_expire, archive_key, version,
		n_room_stays, n_guests, n_external_ids)
), stays AS (
	-- Each parent's room stays as parallel arrays, in the record's order.
	SELECT c.parent, array_agg(c.room_type ORDER BY c.ordinal) AS room_type,
		array_agg(c.rate_plan ORDER BY c.ordinal) AS rate_plan,
		array_agg(c.units ORDER BY c.ordinal) AS units,
		array_agg(c.arrival ORDER BY c.ordinal) AS arrival,
		array_agg(c.departure ORDER BY c.ordinal) AS departure,
		array_agg(c.adults ORDER BY c.ordinal) AS adults,
		array_agg(c.children ORDER BY c.ordinal) AS children,
		array_agg(NULLIF(c.total_after_tax, '')::numeric ORDER BY c.ordinal) AS total_after_tax,
		array_agg(NULLIF(c.total_before_tax, '')::numeric ORDER BY c.ordinal) AS total_before_tax,
		array_agg(c.currency ORDER BY c.ordinal) AS currency
	FROM unnest($27::int4[], $28::int4[], $29::text[], $30::text[], $31::int4[],
		$32::date[], $33::date[], $34::int4[], $35::int4[],
		$36::text[], $37::text[], $38::text[])
		AS c(parent, ordinal, room_type, rate_plan, units, arrival, departure,
			adults, children, total_after_tax, total_before_tax, currency)
	GROUP BY c.parent
), ids AS (
	-- Each parent's external ids as parallel arrays, in the record's order.
	SELECT c.parent, array_agg(c.id_type ORDER BY c.ordinal) AS id_type,
		array_agg(c.id_value ORDER BY c.ordinal) AS id_value,
		array_agg(c.id_source ORDER BY c.ordinal) AS id_source
	FROM unnest($39::int4[], $40::int4[], $41::text[], $42::text[], $43::text[])
		AS c(parent, ordinal, id_type, id_value, id_source)
	GROUP BY c.parent
), upserted AS (
	INSERT INTO reservations AS r (
		hotel_code, confirmation, chain_code, status, action,
		message_type, message_id, message_time, created_at, modified_at,
		arrival, departure, adults, children,
		total_after_tax, total_before_tax, currency,
		card_code, card_last4, card_expire, archive_key, version, stored_at,
		` + inlineChildColumns + `)
	SELECT i.hotel_code, i.confirmation, i.chain_code, i.status, i.action,
		i.message_type, i.message_id, i.message_time, i.created_at, i.modified_at,
		i.arrival, i.departure, i.adults, i.children,
		NULLIF(i.total_after_tax, '')::numeric, NULLIF(i.total_before_tax, '')::numeric, i.currency,
		i.card_code, i.card_last4, i.card_expire, i.archive_key, i.version, now(),
		coalesce(s.room_type, '{}'), coalesce(s.rate_plan, '{}'), coalesce(s.units, '{}'),
		coalesce(s.arrival, '{}'), coalesce(s.departure, '{}'), coalesce(s.adults, '{}'),
		coalesce(s.children, '{}'), coalesce(s.total_after_tax, '{}'),
		coalesce(s.total_before_tax, '{}'), coalesce(s.currency, '{}'),
		coalesce(x.id_type, '{}'), coalesce(x.id_value, '{}'), coalesce(x.id_source, '{}')
	FROM input i
	LEFT JOIN stays s ON s.parent = i.idx
	LEFT JOIN ids x ON x.parent = i.idx
	ORDER BY i.hotel_code, i.confirmation
` + inlineUpsertGuard + `
	RETURNING r.hotel_code, r.confirmation
), written AS (
	SELECT i.idx FROM input i JOIN upserted u USING (hotel_code, confirmation)
)
SELECT i.idx, w.idx IS NOT NULL AS stored, r.version AS previous
FROM input i
LEFT JOIN written w ON w.idx = i.idx
LEFT JOIN reservations r ON r.hotel_code = i.hotel_code AND r.confirmation = i.confirmation`

const inlineChildColumns = `stays_room_type, stays_rate_plan, stays_units, stays_arrival, stays_departure,
		stays_adults, stays_children, stays_total_after_tax, stays_total_before_tax, stays_currency,
		ids_type, ids_value, ids_source`

const inlineWriteChildrenSQL = `
WITH input AS (
	SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::int4[])
		AS t(idx, hotel_code, confirmation, version, n_guests)
), written AS (
	-- The parents this transaction wrote (or found at exactly this version,
	-- whose guests are then rewritten to what they already are).
	SELECT i.idx, i.hotel_code, i.confirmation, i.n_guests
	FROM input i JOIN reservations r USING (hotel_code, confirmation)
	WHERE r.version = i.version
), del_guests AS (
	DELETE FROM reservation_guests c USING written w
	WHERE c.hotel_code = w.hotel_code AND c.confirmation = w.confirmation
		AND c.ordinal >= w.n_guests
), ins_guests AS (
	INSERT INTO reservation_guests AS o (hotel_code, confirmation, ordinal,
		is_primary, given_name, surname, email, phone, loyalty_program, loyalty_number,
		city, postal_code, country, email_index, loyalty_index)
	SELECT w.hotel_code, w.confirmation, c.ordinal,
		c.is_primary, c.given_name, c.surname, c.email, c.phone, c.loyalty_program,
		c.loyalty_number, c.city, c.postal_code, c.country, c.email_index, c.loyalty_index
	FROM unnest($6::int4[], $7::int4[], $8::bool[], $9::text[], $10::text[],
		$11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
		$18::text[], $19::text[])
		AS c(parent, ordinal, is_primary, given_name, surname, email, phone,
			loyalty_program, loyalty_number, city, postal_code, country, email_index, loyalty_index)
	JOIN written w ON w.idx = c.parent
	` + upsertGuest + `
)
SELECT count(*) FROM written`

const inlineUpsertGuard = `
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
		stored_at = EXCLUDED.stored_at,
		stays_room_type = EXCLUDED.stays_room_type, stays_rate_plan = EXCLUDED.stays_rate_plan,
		stays_units = EXCLUDED.stays_units, stays_arrival = EXCLUDED.stays_arrival,
		stays_departure = EXCLUDED.stays_departure, stays_adults = EXCLUDED.stays_adults,
		stays_children = EXCLUDED.stays_children,
		stays_total_after_tax = EXCLUDED.stays_total_after_tax,
		stays_total_before_tax = EXCLUDED.stays_total_before_tax,
		stays_currency = EXCLUDED.stays_currency, ids_type = EXCLUDED.ids_type,
		ids_value = EXCLUDED.ids_value, ids_source = EXCLUDED.ids_source,
		pii_purged_at = NULL -- a newer version brings guests' data back: purge may take it again
	WHERE r.version < EXCLUDED.version
`

const inlineGetSQL = `
SELECT r.message_type, r.message_id, r.message_time, r.action, r.status, r.chain_code,
	r.created_at, r.modified_at, r.arrival, r.departure, r.adults, r.children,
	coalesce(r.total_after_tax::text, ''), coalesce(r.total_before_tax::text, ''), r.currency,
	r.card_code, r.card_last4, r.card_expire, r.version,
	(SELECT coalesce(json_agg(json_build_object(
			'room_type', c.room_type, 'rate_plan', c.rate_plan, 'units', c.units,
			'arrival', coalesce(to_char(c.arrival, 'YYYY-MM-DD'), ''),
			'departure', coalesce(to_char(c.departure, 'YYYY-MM-DD'), ''),
			'adults', c.adults, 'children', c.children,
			'total_after_tax', coalesce(c.total_after_tax::text, ''),
			'total_before_tax', coalesce(c.total_before_tax::text, ''),
			'currency', c.currency) ORDER BY c.ordinal), '[]')
		FROM unnest(r.stays_room_type, r.stays_rate_plan, r.stays_units, r.stays_arrival,
			r.stays_departure, r.stays_adults, r.stays_children, r.stays_total_after_tax,
			r.stays_total_before_tax, r.stays_currency) WITH ORDINALITY
			AS c(room_type, rate_plan, units, arrival, departure, adults, children,
				total_after_tax, total_before_tax, currency, ordinal)),
	(SELECT coalesce(json_agg(json_build_object(
			'primary', c.is_primary, 'given_name', c.given_name, 'surname', c.surname,
			'email', c.email, 'phone', c.phone, 'loyalty_program', c.loyalty_program,
			'loyalty_number', c.loyalty_number, 'city', c.city, 'postal_code', c.postal_code,
			'country', c.country) ORDER BY c.ordinal), '[]')
		FROM reservation_guests c
		WHERE c.hotel_code = r.hotel_code AND c.confirmation = r.confirmation),
	(SELECT coalesce(json_agg(json_build_object(
			'type', c.id_type, 'value', c.id_value, 'source', c.id_source) ORDER BY c.ordinal), '[]')
		FROM unnest(r.ids_type, r.ids_value, r.ids_source) WITH ORDINALITY
			AS c(id_type, id_value, id_source, ordinal))
FROM reservations r
WHERE r.hotel_code = $1 AND r.confirmation = $2`

// inlineParentArgs are the parameters of inlineWriteParentsSQL.
func (c *columns) inlineParentArgs() []any {
	return append(c.parentArgs(),
		c.rsParent, c.rsOrdinal, c.rsRoomType, c.rsRatePlan, c.rsUnits, // $27-$31
		c.rsArrival, c.rsDeparture, c.rsAdults, c.rsChildren, // $32-$35
		c.rsTotalAfterTax, c.rsTotalBeforeTax, c.rsCurr, // $36-$38
		c.xParent, c.xOrdinal, c.xType, c.xValue, c.xSource, // $39-$43
	)
}

// inlineChildArgs are the parameters of inlineWriteChildrenSQL.
func (c *columns) inlineChildArgs() []any {
	return []any{
		c.idx, c.hotelCode, c.confirmation, c.version, c.nGuests, // $1-$5
		c.gParent, c.gOrdinal, c.gPrimary, c.gGiven, c.gSurname, c.gEmail, c.gPhone, // $6-$12
		c.gLoyaltyProg, c.gLoyaltyNum, c.gCity, c.gPostal, c.gCountry, // $13-$17
		c.gEmailIndex, c.gLoyaltyIndex, // $18-$19
	}
}
