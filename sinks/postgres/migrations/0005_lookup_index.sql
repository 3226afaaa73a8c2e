-- The API's lookup (POST /v1/itineraries/lookup) finds a confirmation
-- number in any hotel: without this index that is a scan of every
-- reservation per anonymous request.
CREATE INDEX reservations_confirmation_idx ON reservations (confirmation);
