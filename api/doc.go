// Package api serves reservation itineraries over HTTP: to guests signed
// in with a bearer JWT (subject = their normalised e-mail address; HS256
// with a local secret, or RS256/ES256 verified with an identity provider's
// JWK Set, each key for its own algorithm only) and to partner applications that sign requests with AWS Signature
// Version 4 using keys from a partner table.
//
// Endpoints (all JSON; errors are application/problem+json):
//
//	GET  /v1/reservations/{hotel_code}/{confirmation}  one itinerary
//	GET  /v1/hotels/{hotel_code}/arrivals?date=&limit=&cursor=  a hotel's arrivals, paged
//	GET  /v1/guests/me/itineraries?from=&to=  the signed-in guest's itineraries
//	POST /v1/itineraries/lookup  {"confirmation","surname"[,"hotel_code"]}
//	GET  /healthz, /readyz
//
// Scope: a partner reads only its hotels, a guest only reservations that
// name them as a guest. A reservation outside the caller's scope is a 404,
// the same as one that does not exist, so existence is never revealed; a
// hotel-level endpoint outside the caller's scope is a 403.
//
// Personal data: guests' e-mail addresses, phone numbers and loyalty
// numbers are masked unless the caller is a partner with ScopePII or the
// signed-in guest (for their own entry), and even then only when an
// AccessAudit is configured: every response showing them unmasked is
// recorded (PostgresAccessLog, table pii_access) before it is sent. The
// document of a stored reservation is made in one place, document.go.
//
// Failed attempts (invalid credentials, lookups that match nothing) are
// counted per address; past Options.FailedAuthLimit every request of the
// address gets 429 until an attempt comes back.
//
// Reads go through Store, implemented here over sinks/dynamo
// (DynamoStore) and sinks/postgres (PostgresStore). Logs carry a request
// id, the route pattern, the status and the caller's kind, never personal
// data (no e-mail addresses, names or surnames).
package api
