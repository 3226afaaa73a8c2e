// Package console serves the operations console (`resingest console`): a
// reservation's whole story (every message that touched it, the fields
// each version changed, what Postgres and DynamoDB hold side by side, the
// archived raw messages), the dead letters with their replay, ingest
// health and per-hotel feed quality, as server-rendered HTML pages with
// hand-drawn SVG charts (no script, no CDN).
//
// Access: every page needs a staff bearer JWT (Authorization header, or
// the session cookie that POST /signin sets from a pasted token) whose
// roles claim holds "ops" (guests' personal data masked) or "ops-pii"
// (unmasked; every page that shows it writes a pii_access row first, and
// is refused with 503 when that row cannot be written). State-changing
// requests (sign-in, sign-out, replay) check the request's Origin, and
// replay also a CSRF token bound to the caller's credential.
//
// The console reads the stores through small interfaces declared here
// (sinks/postgres, sinks/dynamo and sinks/archive implement them); its
// handlers answer bad input with 4xx pages naming the field, never echo a
// caller's value into logs, and never answer 500 for a caller's input. A
// store failure is a 503 naming the store. A Server is safe for
// concurrent use.
package console
