package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/redact"
)

// DeadLetterPrefixBytes bounds the message a dead letter keeps in Postgres:
// a larger message keeps its first bytes only, and the whole redacted
// message goes to the archive when there is one.
const DeadLetterPrefixBytes = 64 << 10

// DeadLetterArchive keeps the whole redacted message of a dead letter
// whose message is larger than DeadLetterPrefixBytes (sinks/archive).
type DeadLetterArchive interface {
	// PutDeadLetter stores msg (redacted) and returns its key.
	PutDeadLetter(ctx context.Context, source string, msg []byte) (string, error)
	// ReadDeadLetter returns the redacted message stored at key.
	ReadDeadLetter(ctx context.Context, key string) ([]byte, error)
}

// ErrArchiveMissing is wrapped when a dead letter's whole message is in
// the archive but no archive is configured to read it.
var ErrArchiveMissing = errors.New("the whole message is in the archive: configure --archive-bucket")

// maxBytes is the largest message the Processor accepts: Config.MaxBytes,
// else the parser's own limit when it tells it (parse.Parser does), else
// parse.DefaultMaxBytes.
func (p *Processor) maxBytes() int {
	if p.cfg.MaxBytes > 0 {
		return p.cfg.MaxBytes
	}
	if l, ok := p.cfg.Parser.(interface{ MaxBytes() int }); ok && l.MaxBytes() > 0 {
		return l.MaxBytes()
	}
	return parse.DefaultMaxBytes
}

// MaxBytes returns the largest message p accepts; sources cut larger ones
// with CutOversized before a batch holds them whole.
func (p *Processor) MaxBytes() int { return p.maxBytes() }

// messageSize is the size of the whole message m stands for.
func messageSize(m *Message) int {
	return max(m.Size, len(m.Value))
}

// CutOversized returns the Message to hand to the Processor for a message
// of size bytes whose first bytes are value, when size exceeds maxBytes:
// only the first DeadLetterPrefixBytes are kept (a copy, so the caller's
// buffer can be freed at once) and Size records the whole size. Under the
// limit it returns value as is. Sources call it before a batch holds
// oversized messages whole.
func CutOversized(value []byte, size, maxBytes int) (kept []byte, wholeSize int) {
	if maxBytes <= 0 {
		maxBytes = parse.DefaultMaxBytes
	}
	if size <= maxBytes {
		return value, 0
	}
	return bytes.Clone(value[:min(len(value), DeadLetterPrefixBytes)]), size
}

// refuseOversized dead-letters a message over the limit without parsing
// it: one a source cut short (Size set), or one held whole but too large.
func (p *Processor) refuseOversized(m *Message) (parsed, bool) {
	size, limit := messageSize(m), p.maxBytes()
	if size <= limit {
		return parsed{}, false
	}
	err := &parse.Error{Kind: parse.ErrTooLarge, Detail: fmt.Sprintf(
		"%d bytes, limit %d (--max-bytes); only its first %d bytes are kept, not archived", size, limit, DeadLetterPrefixBytes)}
	return parsed{reason: err.Error(), class: reasonClass(err)}, true
}

// deadLetter builds the dead letter of message m, which failed for
// it.reason: the redacted message, cut to DeadLetterPrefixBytes when
// larger, sealed when a Sealer is set. A message held whole and larger
// than the prefix is archived whole (redacted, sealed by the archive) when
// a DeadLetterArchive is set, its key on the letter. An archive failure is
// returned: the batch is then not acknowledged.
func (p *Processor) deadLetter(ctx context.Context, m *Message, it *parsed) (ledger.DeadLetter, error) {
	size := messageSize(m)
	d := ledger.DeadLetter{
		Source: m.Source, Partition: m.Partition, Position: m.Position, MessageID: it.msgID,
		Reason: it.reason, ReasonClass: it.class, HotelCode: letterHotel(m, it),
		ReceivedAt: m.ReceivedAt, MessageBytes: int64(size),
	}
	redacted := redact.Redact(m.Value)
	switch {
	case size > len(m.Value) || size > p.maxBytes():
		// Refused as too large: never held whole, never archived.
		d.Message, d.Truncated = prefixOf(redacted, size == len(m.Value)), true
	case len(redacted) > DeadLetterPrefixBytes:
		d.Message, d.Truncated = prefixOf(redacted, true), true
		if a := p.cfg.DeadLetterArchive; a != nil {
			err := p.retryStore(ctx, "archive", "archive dead letter", func() error {
				key, err := a.PutDeadLetter(ctx, m.Source, redacted)
				d.ArchiveKey = key
				return err
			})
			if err != nil {
				return d, err
			}
		}
	default:
		d.Message = redacted
	}
	if p.cfg.Sealer != nil {
		sealed, err := p.cfg.Sealer.SealBlob(DeadLetterPurpose, d.Message)
		if err != nil {
			return d, fmt.Errorf("pipeline: seal dead letter: %w", err)
		}
		d.Message = sealed
	}
	return d, nil
}

// letterHotel is the hotel a dead letter of m names, best effort: that of
// its first parsed record with one, else the first HotelCode attribute of
// the raw message (read before redaction and sealing), else "".
func letterHotel(m *Message, it *parsed) string {
	for i := range it.recs {
		if h := it.recs[i].Reservation.HotelCode; h != "" {
			return h
		}
	}
	return parse.SniffHotelCode(m.Value)
}

// prefixOf returns a copy of the first DeadLetterPrefixBytes of a redacted
// message. whole says the message was redacted whole: the cut is then
// safe anywhere. A message a source cut short was redacted as a prefix, so
// a secret running past the source's cut may have escaped redaction (half
// a card number passes no Luhn check, an element's text may lack its end
// tag): such a prefix is cut back to just after its last '>', or without
// any '>' trailing digits, spaces and dashes are dropped.
func prefixOf(redacted []byte, whole bool) []byte {
	b := redacted[:min(len(redacted), DeadLetterPrefixBytes)]
	switch i := bytes.LastIndexByte(b, '>'); {
	case whole:
	case i >= 0:
		b = b[:i+1]
	default:
		b = bytes.TrimRight(b, "0123456789 -")
	}
	return bytes.Clone(b) // not a window on the whole message
}

// letterValue returns the redacted message of dead letter d for a replay:
// the row's own message, opened, when it is whole; the archived one when
// the row holds a prefix. unreplayable, when set, says why the letter
// cannot be replayed (it stays pending); err is a failure of the archive
// or of the keys, which stops the replay.
func (p *Processor) letterValue(ctx context.Context, d *ledger.DeadLetter) (value []byte, unreplayable string, err error) {
	if !d.Truncated {
		value = d.Message
		if p.cfg.Sealer != nil {
			if value, err = p.cfg.Sealer.OpenBlob(ctx, DeadLetterPurpose, value); err != nil {
				return nil, "", fmt.Errorf("replay: dead letter %d: %w", d.ID, err)
			}
		} else if pii.IsSealedBlob(value) {
			return nil, "", fmt.Errorf("replay: dead letter %d is encrypted: configure --kek-file or --kms-key-id", d.ID)
		}
		return value, "", nil
	}
	if d.ArchiveKey == "" {
		return nil, fmt.Sprintf("truncated: the row holds only a prefix of the %d-byte message and no archive copy exists: it cannot be replayed from the prefix (%s)",
			d.MessageBytes, d.Reason), nil
	}
	if p.cfg.DeadLetterArchive == nil {
		return nil, "", fmt.Errorf("replay: dead letter %d (key %s): %w", d.ID, d.ArchiveKey, ErrArchiveMissing)
	}
	value, err = p.cfg.DeadLetterArchive.ReadDeadLetter(ctx, d.ArchiveKey)
	if err != nil {
		return nil, "", fmt.Errorf("replay: dead letter %d: %w", d.ID, err)
	}
	return value, "", nil
}
