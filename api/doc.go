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
// Reads go through Store, implemented here over sinks/dynamo
// (DynamoStore) and sinks/postgres (PostgresStore). Logs carry a request
// id, the route pattern, the status and the caller's kind, never personal
// data (no e-mail addresses, names or surnames).
package api
