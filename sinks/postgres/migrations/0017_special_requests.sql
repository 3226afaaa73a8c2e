-- The reservation's special requests (an extension of the canonical record:
-- reservation.SpecialRequest), as a JSON array of {"code","name","text"}
-- in the reservation's row: one column, not a child table, as analysts read
-- them rarely and never join on them. reservation_special_requests lists
-- them one row per request. A constant default is a catalog change in
-- PostgreSQL 11+, so this is instant on a large table.
ALTER TABLE reservations ADD COLUMN special_requests jsonb NOT NULL DEFAULT '[]';

CREATE VIEW reservation_special_requests AS
SELECT r.hotel_code, r.confirmation, q.ordinal - 1 AS ordinal,
       q.request->>'code' AS code, q.request->>'name' AS name, q.request->>'text' AS text
FROM reservations r,
     jsonb_array_elements(r.special_requests) WITH ORDINALITY AS q(request, ordinal);
