package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/sinks"
)

// contentType of archive objects: gzip-compressed JSON Lines. No
// Content-Encoding header, so that HTTP clients hand out the bytes as
// stored.
const contentType = "application/gzip"

// sealedContentType marks objects encrypted client-side (Options.Sealer).
const sealedContentType = "application/vnd.resingest.sealed+gzip"

// PutError is a failed archive put: the object, how many attempts were
// made, and the last error.
type PutError struct {
	Bucket   string
	Key      string
	Attempts int
	Err      error
}

func (e *PutError) Error() string {
	return fmt.Sprintf("archive: put s3://%s/%s failed after %d attempt(s): %v", e.Bucket, e.Key, e.Attempts, e.Err)
}

// Unwrap returns the last error.
func (e *PutError) Unwrap() error { return e.Err }

// group is the records of one batch that share an object.
type group struct {
	key     string
	members []int           // indices into the batch
	entries []Entry         // one per distinct message; XML set by writeGroup
	raws    [][]byte        // the message of each entry, as received
	seen    map[string]bool // messages already in entries
}

// Write archives the messages of recs and returns one Result per record, in
// order. Records are grouped by archive day (today, UTC) and hotel; each
// group becomes one object, written with at most Options.MaxInFlight puts
// at once. A message that several records of a group share is stored once.
//
// The Result of every Stored record has the object's key in Key; Write
// does not change recs. Transient errors are retried up to
// Options.MaxAttempts; records of a group that still failed are Failed with
// a *PutError, marked sinks.Retryable when trying later may help.
//
// The error is ErrClosed after Close, ctx.Err() when ctx ended before every
// record had an outcome, and nil otherwise; the results are complete in
// every case.
func (s *Sink) Write(ctx context.Context, recs []sinks.Record) ([]sinks.Result, error) {
	results := make([]sinks.Result, len(recs))
	if !s.gate.Enter() {
		for i := range results {
			results[i] = sinks.Result{Outcome: sinks.Failed, Err: sinks.Retryable(ErrClosed)}
		}
		s.failed.Add(int64(len(recs)))
		return results, ErrClosed
	}
	defer s.gate.Leave()

	now := s.opts.Now().UTC()
	groups := s.group(recs, now)

	var g errgroup.Group
	g.SetLimit(s.opts.MaxInFlight)
	for _, grp := range groups {
		g.Go(func() error {
			// Each group owns its members: no two goroutines touch the
			// same element of results.
			res := s.writeGroup(ctx, grp)
			if res.Outcome == sinks.Stored {
				res.Key = grp.key
			}
			for _, i := range grp.members {
				results[i] = res
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through results

	for _, r := range results {
		if r.Outcome == sinks.Stored {
			s.stored.Add(1)
		} else {
			s.failed.Add(1)
		}
	}
	if err := ctx.Err(); err != nil {
		for _, r := range results {
			if r.Outcome == sinks.Failed {
				return results, err
			}
		}
	}
	return results, nil
}

// group splits recs into objects, in order of first appearance.
func (s *Sink) group(recs []sinks.Record, now time.Time) []*group {
	batch := newBatchID(now)
	received := now.Format(time.RFC3339Nano)
	byHotel := make(map[string]*group)
	var groups []*group
	for i := range recs {
		r := &recs[i]
		hotel := keyHotel(r.Reservation.HotelCode)
		grp := byHotel[hotel]
		if grp == nil {
			grp = &group{key: ObjectKey(s.opts.Prefix, now, hotel, batch), seen: make(map[string]bool)}
			byHotel[hotel] = grp
			groups = append(groups, grp)
		}
		grp.members = append(grp.members, i)
		// Identical messages redact identically, so de-duplicating before
		// redaction is the same as after, and leaves the (costly)
		// redaction to writeGroup, which runs groups in parallel.
		if grp.seen[string(r.Raw)] {
			continue
		}
		grp.seen[string(r.Raw)] = true
		grp.raws = append(grp.raws, r.Raw)
		grp.entries = append(grp.entries, Entry{
			MessageID:    r.Reservation.MessageID,
			HotelCode:    r.Reservation.HotelCode,
			Confirmation: r.Reservation.Confirmation,
			Version:      r.Version.String(),
			ReceivedAt:   received,
		})
	}
	return groups
}

// writeGroup redacts and compresses a group and puts it, retrying
// transient errors.
func (s *Sink) writeGroup(ctx context.Context, grp *group) sinks.Result {
	for i, raw := range grp.raws {
		// Redact again although the pipeline did: an archive is forever,
		// and a card number in it cannot be taken back. Redact is
		// idempotent.
		grp.entries[i].XML = string(redact.Redact(raw))
	}
	body, raw, err := encode(grp.entries)
	n := len(grp.entries)
	grp.seen, grp.raws, grp.entries = nil, nil, nil // all in body now
	if err != nil {
		return sinks.Result{Outcome: sinks.Failed, Err: err}
	}
	if s.opts.Sealer != nil {
		if body, err = s.opts.Sealer.SealBlob(sealPurpose(grp.key), body); err != nil {
			// Sealing fails for want of a key, never for the record.
			return sinks.Result{Outcome: sinks.Failed, Err: sinks.NewStoreError(storeName, sinks.ClassKMS, "", fmt.Errorf("archive: seal %s: %w", grp.key, err))}
		}
	}
	perr := &PutError{Bucket: s.opts.Bucket, Key: grp.key}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retries.Add(1)
			s.opts.Logger.Debug("archive: retrying put", "key", grp.key, "attempt", attempt+1, "error", perr.Err)
			if err := s.opts.Backoff.Wait(ctx, attempt-1); err != nil {
				return sinks.Result{Outcome: sinks.Failed, Err: sinks.Retryable(perr)}
			}
		}
		perr.Attempts = attempt + 1
		err := s.put(ctx, grp.key, body, map[string]string{"entries": strconv.Itoa(n)})
		if err == nil {
			s.objects.Add(1)
			s.entries.Add(int64(n))
			s.rawBytes.Add(raw)
			s.bytes.Add(int64(len(body)))
			return sinks.Result{Outcome: sinks.Stored}
		}
		perr.Err = err
		class, fix, store := classify(ctx, s.opts.Bucket, err)
		switch {
		case cancelled(ctx, err):
			return sinks.Result{Outcome: sinks.Failed, Err: sinks.Retryable(perr)}
		case store && !class.Transient():
			// The bucket, credentials or key, not this record: fail it
			// as the store's failure, at once (retrying here cannot help;
			// the pipeline retries the batch with backoff).
			return sinks.Result{Outcome: sinks.Failed, Err: sinks.NewStoreError(storeName, class, fix, perr)}
		case !store:
			return sinks.Result{Outcome: sinks.Failed, Err: perr}
		case perr.Attempts >= s.opts.MaxAttempts:
			return sinks.Result{Outcome: sinks.Failed, Err: sinks.NewStoreError(storeName, class, fix, perr)}
		}
	}
}

// put makes one PutObject attempt, with the sink's encryption and its
// per-attempt deadline; metadata may be nil.
func (s *Sink) put(ctx context.Context, key string, body []byte, metadata map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	s.attempts.Add(1)
	in := &s3.PutObjectInput{
		Bucket:               aws.String(s.opts.Bucket),
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(body),
		ContentLength:        aws.Int64(int64(len(body))),
		ContentType:          aws.String(s.contentType()),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
		Metadata:             metadata,
	}
	if s.opts.KMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(s.opts.KMSKeyID)
	}
	_, err := s.api.PutObject(ctx, in)
	return err
}

func (s *Sink) contentType() string {
	if s.opts.Sealer != nil {
		return sealedContentType
	}
	return contentType
}

// cancelled reports whether err is the caller's context ending, which
// leaves the write undone but worth retrying later.
func cancelled(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
