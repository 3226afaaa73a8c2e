package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
)

// guestHash fingerprints a guest row's personal columns: a rewrite
// applies only if the row still holds what was read (a stream write in
// between wins).
const guestHash = `md5(row(given_name, surname, email, phone, loyalty_number, city, postal_code, country)::text)`

const selectGuestsSQL = `
SELECT hotel_code, confirmation, ordinal, is_primary, given_name, surname, email, phone,
	loyalty_program, loyalty_number, city, postal_code, country, ` + guestHash + `
FROM reservation_guests
WHERE (hotel_code, confirmation, ordinal) > ($1, $2, $3)
ORDER BY hotel_code, confirmation, ordinal
LIMIT $4`

const updateGuestsSQL = `
UPDATE reservation_guests g SET given_name = u.given_name, surname = u.surname, email = u.email,
	phone = u.phone, loyalty_number = u.loyalty_number, city = u.city, postal_code = u.postal_code,
	country = u.country, email_index = u.email_index, loyalty_index = u.loyalty_index
FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
	AS u(hotel_code, confirmation, ordinal, given_name, surname, email, phone, loyalty_number,
		city, postal_code, country, email_index, loyalty_index, old_hash)
WHERE g.hotel_code = u.hotel_code AND g.confirmation = u.confirmation AND g.ordinal = u.ordinal
	AND md5(row(g.given_name, g.surname, g.email, g.phone, g.loyalty_number, g.city, g.postal_code, g.country)::text) = u.old_hash`

// guestCursor is where a rewrite job stands (the last guest row done).
type guestCursor struct {
	HotelCode    string `json:"hotel_code"`
	Confirmation string `json:"confirmation"`
	Ordinal      int32  `json:"ordinal"`
}

// RewriteGuests runs rewrite over every guest row in key order, batch rows
// at a time, and records its position in pii_jobs under job after each
// batch, so a stopped job started again continues where it stopped. A
// finished job starts over. progress, when set, is called after each
// batch. Concurrent stream writes are safe: a row changed since it was
// read is left to the writer (counted Skipped).
func (s *Sink) RewriteGuests(ctx context.Context, job string, batch int, rewrite pii.GuestRewrite, progress func(pii.RewriteStats)) (pii.RewriteStats, error) {
	var st pii.RewriteStats
	if batch <= 0 {
		batch = 1000
	}
	var cur guestCursor
	raw, done, err := s.LoadCursor(ctx, job, 0)
	if err != nil {
		return st, err
	}
	if raw != "" && !done { // a finished job runs again from the start
		if err := json.Unmarshal([]byte(raw), &cur); err != nil {
			return st, fmt.Errorf("postgres: job %s: bad cursor: %w", job, err)
		}
	}
	for {
		rows, err := s.pool.Query(ctx, selectGuestsSQL, cur.HotelCode, cur.Confirmation, cur.Ordinal, batch)
		if err != nil {
			return st, fmt.Errorf("postgres: job %s: read guests: %w", job, classify(err))
		}
		var keys []guestCursor
		var guests []reservation.Guest
		var hashes []string
		for rows.Next() {
			var k guestCursor
			var g reservation.Guest
			var h string
			if err := rows.Scan(&k.HotelCode, &k.Confirmation, &k.Ordinal, &g.Primary, &g.GivenName, &g.Surname,
				&g.Email, &g.Phone, &g.LoyaltyProgram, &g.LoyaltyNumber, &g.City, &g.PostalCode, &g.Country, &h); err != nil {
				rows.Close()
				return st, fmt.Errorf("postgres: job %s: read guests: %w", job, err)
			}
			keys, guests, hashes = append(keys, k), append(guests, g), append(hashes, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return st, fmt.Errorf("postgres: job %s: read guests: %w", job, classify(err))
		}
		if len(keys) == 0 {
			return st, s.SaveCursor(ctx, job, 0, marshalCursor(cur), true)
		}
		var u guestUpdate
		for i := range guests {
			out, idx, changed, err := rewrite(ctx, guests[i:i+1])
			if err != nil {
				return st, fmt.Errorf("postgres: job %s: guest %d of %s/%s: %w", job, keys[i].Ordinal, keys[i].HotelCode, keys[i].Confirmation, err)
			}
			if changed {
				u.add(keys[i], out[0], idx[0], hashes[i])
			}
		}
		st.Scanned += len(keys)
		cur = keys[len(keys)-1]
		n, err := s.applyGuestUpdate(ctx, job, &u, cur)
		if err != nil {
			return st, err
		}
		st.Rewritten += n
		st.Skipped += len(u.hotel) - n
		if progress != nil {
			progress(st)
		}
	}
}

func marshalCursor(c guestCursor) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// guestUpdate holds the changed rows of a batch, column by column.
type guestUpdate struct {
	hotel, conf                                                  []string
	ordinal                                                      []int32
	given, surname, email, phone, loyalty, city, postal, country []string
	emailIdx, loyaltyIdx, oldHash                                []string
}

func (u *guestUpdate) add(k guestCursor, g reservation.Guest, ix pii.GuestIndex, hash string) {
	u.hotel, u.conf, u.ordinal = append(u.hotel, k.HotelCode), append(u.conf, k.Confirmation), append(u.ordinal, k.Ordinal)
	u.given, u.surname, u.email = append(u.given, g.GivenName), append(u.surname, g.Surname), append(u.email, g.Email)
	u.phone, u.loyalty, u.city = append(u.phone, g.Phone), append(u.loyalty, g.LoyaltyNumber), append(u.city, g.City)
	u.postal, u.country = append(u.postal, g.PostalCode), append(u.country, g.Country)
	u.emailIdx, u.loyaltyIdx, u.oldHash = append(u.emailIdx, ix.Email), append(u.loyaltyIdx, ix.Loyalty), append(u.oldHash, hash)
}

// applyGuestUpdate writes u and the job's new cursor in one transaction.
func (s *Sink) applyGuestUpdate(ctx context.Context, job string, u *guestUpdate, cur guestCursor) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if len(u.hotel) > 0 {
			tag, err := tx.Exec(ctx, updateGuestsSQL, u.hotel, u.conf, u.ordinal, u.given, u.surname, u.email,
				u.phone, u.loyalty, u.city, u.postal, u.country, u.emailIdx, u.loyaltyIdx, u.oldHash)
			if err != nil {
				return err
			}
			n = int(tag.RowsAffected())
		}
		_, err := tx.Exec(ctx, saveCursorSQL, job, 0, marshalCursor(cur), false)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: job %s: write guests: %w", job, classify(err))
	}
	return n, nil
}

const saveCursorSQL = `
INSERT INTO pii_jobs (job, segment, cursor, done, updated_at) VALUES ($1, $2, $3, $4, now())
ON CONFLICT (job, segment) DO UPDATE SET cursor = EXCLUDED.cursor, done = EXCLUDED.done, updated_at = now()`

// LoadCursor returns the saved position of a job's segment ("" when it
// has none) and whether it finished.
func (s *Sink) LoadCursor(ctx context.Context, job string, segment int) (cursor string, done bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT cursor, done FROM pii_jobs WHERE job = $1 AND segment = $2`, job, segment).Scan(&cursor, &done)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("postgres: job %s: read progress: %w", job, classify(err))
	}
	return cursor, done, nil
}

// SaveCursor records a job segment's position.
func (s *Sink) SaveCursor(ctx context.Context, job string, segment int, cursor string, done bool) error {
	if _, err := s.pool.Exec(ctx, saveCursorSQL, job, segment, cursor, done); err != nil {
		return fmt.Errorf("postgres: job %s: save progress: %w", job, classify(err))
	}
	return nil
}

const purgeSQL = `
WITH picked AS (
	SELECT hotel_code, confirmation FROM reservations
	WHERE departure < $1 AND pii_purged_at IS NULL
	ORDER BY hotel_code, confirmation
	LIMIT $2
	FOR UPDATE SKIP LOCKED
), guests AS (
	UPDATE reservation_guests c SET given_name = '', surname = '', email = '', phone = '',
		loyalty_number = '', city = '', postal_code = '', country = '', email_index = '', loyalty_index = ''
	FROM picked p WHERE c.hotel_code = p.hotel_code AND c.confirmation = p.confirmation
)
UPDATE reservations r SET pii_purged_at = now(),
	-- The requests' text is personal data too; their codes and names stay.
	special_requests = (SELECT coalesce(jsonb_agg(jsonb_set(e.q, '{text}', '""') ORDER BY e.n), '[]')
		FROM jsonb_array_elements(r.special_requests) WITH ORDINALITY AS e(q, n))
FROM picked p WHERE r.hotel_code = p.hotel_code AND r.confirmation = p.confirmation`

// PurgeGuests anonymises the guests and the special requests' text of
// every reservation that departed before `before` (YYYY-MM-DD), batch
// reservations per transaction, and marks them purged; the reservations'
// other columns stay. Stopped and
// started again, it continues with what is left. It returns the number of
// reservations purged.
func (s *Sink) PurgeGuests(ctx context.Context, before string, batch int, progress func(int)) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, purgeSQL, before, batch)
		if err != nil {
			return total, fmt.Errorf("postgres: purge: %w", classify(err))
		}
		n := int(tag.RowsAffected())
		total += n
		if progress != nil && n > 0 {
			progress(total)
		}
		if n < batch {
			return total, nil
		}
	}
}
