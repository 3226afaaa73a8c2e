-- Keys and looked-up values are codes (hotel codes, confirmation and
-- itinerary numbers) or blind-index digests: compare them bytewise
-- (COLLATE "C"), as the version column already does. Under a linguistic
-- collation every comparison in these indexes calls strcoll(), and
-- PostgreSQL sorts without abbreviated keys: building the backfill's
-- deferred indexes took ~45% less time in "C" (1.8 million rows: e-mail
-- index 2.1 s -> 1.2 s, confirmation 1.4 s -> 0.7 s). Equality is
-- unchanged; order differs only for non-ASCII values. The indexes on these
-- columns are rebuilt; the tables are not rewritten.
ALTER TABLE reservation_room_stays
    ALTER COLUMN hotel_code TYPE text COLLATE "C",
    ALTER COLUMN confirmation TYPE text COLLATE "C";
ALTER TABLE reservation_guests
    ALTER COLUMN hotel_code TYPE text COLLATE "C",
    ALTER COLUMN confirmation TYPE text COLLATE "C",
    ALTER COLUMN email_index TYPE text COLLATE "C",
    ALTER COLUMN loyalty_index TYPE text COLLATE "C";
ALTER TABLE reservation_external_ids
    ALTER COLUMN hotel_code TYPE text COLLATE "C",
    ALTER COLUMN confirmation TYPE text COLLATE "C",
    ALTER COLUMN id_value TYPE text COLLATE "C";
ALTER TABLE reservations
    ALTER COLUMN hotel_code TYPE text COLLATE "C",
    ALTER COLUMN confirmation TYPE text COLLATE "C";
