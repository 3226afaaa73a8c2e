// Package reservation defines the canonical reservation record that every
// other part of resingest speaks: the parser produces it, the sinks store it,
// the backfill loads it and the API serves it.
//
// The JSON field names and the rule that absent values are "", 0, false or []
// (never null, never omitted) are a contract read by tools outside this
// project; see DESIGN.md. Versions (which of two records of one reservation
// is newer) are defined here too, so the stream, the backfill and every sink
// order records the same way.
package reservation
