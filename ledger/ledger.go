package ledger

import (
	"time"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
)

// AuditRow is the audit trail's record of one message.
type AuditRow struct {
	MessageID  string
	Source     string // "kafka", "kinesis", "file", ...
	Partition  string // Kafka partition or Kinesis shard id
	Position   string // offset or sequence number
	ReceivedAt time.Time
	// StoredAt is when the sinks acknowledged the message; zero means now.
	StoredAt time.Time
	// Outcome is what happened to the message, as the pipeline names it
	// (a sinks.Outcome name, or e.g. "dead_letter").
	Outcome string
	// Error says why the message failed; it must hold no personal data.
	Error   string
	Latency time.Duration // from receipt to acknowledgement
	// Records are the message's reservation records and what became of
	// each: the lineage of a reservation (`resingest history`).
	Records []AuditRecord
}

// AuditRecord is one reservation record of an audited message.
type AuditRecord struct {
	Ordinal      int    // its place among the message's records
	HotelCode    string // "" while the record is held for key resolution
	Confirmation string
	Version      string // reservation.Version.String()
	Action       string
	MessageType  string
	ArchiveKey   string // where the archive keeps the raw message; "" without one
	// Outcome is a store outcome (stored, duplicate, stale), resolved, or
	// held (until the record is released: resolved, stale, duplicate or
	// dead_lettered then).
	Outcome string
	// Mapping names the parser mapping that extracted the record
	// ("ota2003", "ota2001", a vendor's file); "" when unknown.
	Mapping string
}

// DeadLetter is a message the pipeline gave up on, kept for inspection and
// replay. Message must already be redacted (no card numbers, CVVs or
// passwords); Reason must hold no personal data.
type DeadLetter struct {
	ID        int64 // set by the store
	Source    string
	Partition string
	Position  string
	MessageID string
	// Message is the (redacted, possibly sealed) message, or only its
	// first bytes when Truncated.
	Message []byte
	// MessageBytes is the size of the whole message as received (0: the
	// size of Message).
	MessageBytes int64
	// Truncated says Message holds only a prefix of the message.
	Truncated bool
	// ArchiveKey is the S3 key, in the archive bucket, of the whole
	// redacted message ("" when none was archived).
	ArchiveKey string
	Reason     string
	// ReasonClass is the class of Reason, as the metric
	// resingest_dead_letters_total{reason} counts it ("malformed XML",
	// "invalid reservation", "dynamo refused", "unresolved", ...); ""
	// for letters stored before the stores kept it.
	ReasonClass string
	// HotelCode is the hotel the message names, best effort: that of its
	// first parsed record with one, else the first HotelCode attribute in
	// its first 64 KiB (parse.SniffHotelCode); "" when unknown.
	HotelCode  string
	ReceivedAt time.Time
	CreatedAt  time.Time // set by the store
	ReplayedAt time.Time // zero until MarkReplayed
}

// DeadLetterFilter selects dead letters for ListDeadLetters. The zero
// value selects every letter, oldest (lowest id) first, 100 at a time.
type DeadLetterFilter struct {
	Source      string // "" for any
	PendingOnly bool   // only those not replayed yet
	ReasonClass string // "" for any; else only letters of this class
	HotelCode   string // "" for any; else only letters naming this hotel
	// Since and Until bound ReceivedAt: Since <= ReceivedAt < Until. A
	// zero time leaves its side unbounded.
	Since, Until time.Time
	// Newest lists by id descending (newest first) instead of ascending.
	Newest bool
	// AfterID pages: ascending, only ids greater than AfterID; with
	// Newest, only ids lower than AfterID when it is non-zero.
	AfterID int64
	Limit   int // at most this many; 0 means 100
}

// Candidate is a stored reservation that a record without a hotel code may
// belong to: one with the record's confirmation number.
type Candidate struct {
	HotelCode string
	ChainCode string
	// IDs are the values of the reservation's external ids other than the
	// confirmation itself (itinerary, CRS, channel numbers...).
	IDs []string
}

// PendingRecord is a record held until a reservation with its confirmation
// is stored.
type PendingRecord struct {
	ID int64 // set by the store
	// Reservation has an empty hotel code; guests are as a store keeps them
	// (sealed when the pipeline seals).
	Reservation  reservation.Reservation
	Version      string // reservation.Version.String()
	GuestIndexes []pii.GuestIndex
	ArchiveKey   string
	Source       string
	Partition    string
	Position     string
	Ordinal      int // the record's place in its message
	MessageID    string
	ReceivedAt   time.Time
	HeldAt       time.Time // set by the store
	// Message, MessageBytes, Truncated and LetterKey are the body of the
	// dead letter if the record is never resolved (DeadLetter's fields of
	// the same names; LetterKey is DeadLetter.ArchiveKey).
	Message      []byte
	MessageBytes int64
	Truncated    bool
	LetterKey    string
}

// PendingDone is what became of a held record: it is deleted, its message's
// audit row gets Outcome and Error, and Letter, when set, is stored.
type PendingDone struct {
	Record  *PendingRecord
	Outcome string
	Error   string
	Letter  *DeadLetter
	// HotelCode is the hotel the record was applied to ("" when it was
	// not): its lineage moves there.
	HotelCode string
}
