-- Half the database cost per message (issue 16): the child tables lose
-- their foreign keys and reservation_external_ids its id_value index.
--
-- The foreign keys checked, row by row, that a room stay, guest or id has
-- its reservation: a trigger and a query per child row, ~6 a booking,
-- ~22% of the Postgres CPU of writing new bookings
-- (BenchmarkChildLayouts). The writers guarantee it themselves: children
-- are only written in the transaction that wrote their reservation, joined
-- to it and under its row lock (sinks/postgres write_sql.go, the backfill's
-- merge and direct COPY), and resingest never deletes a reservation (a
-- cancellation is a status; the PII purge blanks guests' fields). What the
-- keys' ON DELETE CASCADE did for a reservation deleted by hand is now the
-- operator's: delete its rows in reservation_room_stays, reservation_guests
-- and reservation_external_ids too. A reservation written again later
-- rewrites all its children in any case.
--
-- No query of resingest used the id_value index (key resolution reads ids
-- by reservation key); it cost ~5% more. An analyst who looks reservations
-- up by an external id can create it again.
ALTER TABLE reservation_room_stays DROP CONSTRAINT IF EXISTS reservation_room_stays_hotel_code_confirmation_fkey;
ALTER TABLE reservation_guests DROP CONSTRAINT IF EXISTS reservation_guests_hotel_code_confirmation_fkey;
ALTER TABLE reservation_external_ids DROP CONSTRAINT IF EXISTS reservation_external_ids_hotel_code_confirmation_fkey;
DROP INDEX IF EXISTS reservation_external_ids_value_idx;
