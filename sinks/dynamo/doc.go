// Package dynamo is the DynamoDB sink of resingest: one item per
// reservation, written with a version-guarded conditional PutItem, and the
// reads the itinerary API needs.
//
// Table layout (the table name is configurable, "reservations" by default;
// EnsureTable creates it with on-demand billing):
//
//	pk            S  "HOTEL#<hotel_code>"          partition key
//	sk            S  "RES#<confirmation>"          sort key
//	version       S  reservation.Version.String()  compared in the write condition
//	arrival_conf  S  "<arrival>#<confirmation>"    sort key of both indexes
//	guest_id      S  primary guest id (omitted when there is none)
//	archive_key   S  S3 key of the archived message ("" when archiving is off)
//	updated_at    S  RFC 3339 time of the write
//	lists         S  {"room_stays":[...],"guests":[...],"external_ids":[...]}:
//	                 the record's lists as one JSON string, under the
//	                 contract's names, zero-valued fields left out
//	                 (guests' personal fields sealed when a keyring is set)
//	...           every other field of the canonical record under its JSON
//	              name (payment as a map, adults/children as numbers)
//
// The lists are one string, not nested lists of maps, because DynamoDB
// parses and sizes every nested attribute of a put: a booking of three room
// stays, two guests and three ids had about 60 of them, and as one string
// the put costs dynalite 0.60-0.74x the CPU (BenchmarkItemShape), for 12%
// more bytes. Items
// written before, with nested room_stays, guests and external_ids, are
// read (and rewritten by the guest-data jobs) in their own shape.
//
// The prefixes in pk and sk leave room for other item types in the same
// table later without a migration.
//
// Global secondary indexes, all projecting keys only (QueryArrivals and
// QueryGuest read the items an index names with BatchGetItem, so a write
// stores one small entry per index rather than two more copies of the
// item; tables made when the first two projected ALL are read as before):
//
//	by_hotel_arrival  hotel_code / arrival_conf  arrivals of a hotel for a day
//	                                             (begins_with "<date>#")
//	by_guest          guest_id / arrival_conf    a guest's reservations by arrival
//	by_confirmation   confirmation / hotel_code  the API's lookups
//
// arrival_conf rather than arrival is the indexes' sort key because an
// index key may not be an empty string and a reservation may lack an
// arrival date; with the confirmation appended the value is never empty
// and is unique within a partition.
//
// Writes apply only when the record's version is newer than the stored
// one (condition "attribute_not_exists(pk) OR version < :v"), so replays
// and out-of-order deliveries are harmless. Throttling, 5xx answers and
// network errors are retried with sinks.Backoff until the context ends;
// nothing is dropped.
package dynamo
