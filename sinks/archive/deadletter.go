package archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/resingest/resingest/sinks"
)

// DeadLetterFolder is the key segment under which whole dead-lettered
// messages are kept, next to the dt=... folders of the archive.
const DeadLetterFolder = "dead-letters"

// MaxDeadLetterBytes bounds what ReadDeadLetter accepts once
// decompressed: far above any --max-bytes, low enough that a corrupt or
// foreign object cannot exhaust memory.
const MaxDeadLetterBytes = 256 << 20

// ErrDeadLetterTooLarge is wrapped by ReadDeadLetter when the object
// decompresses to more than MaxDeadLetterBytes.
var ErrDeadLetterTooLarge = errors.New("archive: dead-letter object larger than the read limit")

// DeadLetterKey returns the key of a whole dead-lettered message:
// <prefix>/dead-letters/dt=YYYY-MM-DD/source=<SOURCE>/<id>.xml.gz. The
// source is made safe as one key segment like a hotel code.
func DeadLetterKey(prefix string, day time.Time, source, id string) string {
	var b strings.Builder
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		b.WriteString(prefix)
		b.WriteByte('/')
	}
	b.WriteString(DeadLetterFolder)
	b.WriteString("/dt=")
	b.WriteString(day.UTC().Format(time.DateOnly))
	b.WriteString("/source=")
	b.WriteString(keyHotel(source))
	b.WriteByte('/')
	b.WriteString(id)
	b.WriteString(".xml.gz")
	return b.String()
}

// PutDeadLetter keeps msg, a whole dead-lettered message that the caller
// already redacted, in one object of its own: gzip-compressed, and sealed
// (bound to its key) when Options.Sealer is set. It returns the object's
// key. Transient errors are retried up to Options.MaxAttempts; the error
// is then a *PutError marked sinks.Retryable when trying later may help,
// and a permanent *PutError otherwise (a missing bucket, access denied).
// Safe for concurrent use.
func (s *Sink) PutDeadLetter(ctx context.Context, source string, msg []byte) (string, error) {
	if !s.gate.Enter() {
		return "", sinks.Retryable(ErrClosed)
	}
	defer s.gate.Leave()
	now := s.opts.Now().UTC()
	key := DeadLetterKey(s.opts.Prefix, now, source, newBatchID(now))
	body, err := gzipBytes(msg)
	if err == nil && s.opts.Sealer != nil {
		body, err = s.opts.Sealer.SealBlob(sealPurpose(key), body)
	}
	if err != nil {
		return "", fmt.Errorf("archive: dead letter %s: %w", key, err)
	}
	perr := &PutError{Bucket: s.opts.Bucket, Key: key}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retries.Add(1)
			s.opts.Logger.Warn("archive: retrying dead-letter put", "key", key, "attempt", attempt+1, "error", perr.Err)
			if err := s.opts.Backoff.Wait(ctx, attempt-1); err != nil {
				return "", sinks.Retryable(perr)
			}
		}
		perr.Attempts = attempt + 1
		err := s.put(ctx, key, body, nil)
		if err == nil {
			s.objects.Add(1)
			s.rawBytes.Add(int64(len(msg)))
			s.bytes.Add(int64(len(body)))
			return key, nil
		}
		perr.Err = err
		class, fix, store := classify(ctx, s.opts.Bucket, err)
		switch {
		case cancelled(ctx, err):
			return "", sinks.Retryable(perr)
		case store && (!class.Transient() || perr.Attempts >= s.opts.MaxAttempts):
			// The bucket, credentials or key: the pipeline retries the
			// batch with backoff and dead-letters nothing meanwhile.
			return "", sinks.NewStoreError(storeName, class, fix, perr)
		case !store:
			return "", perr
		}
	}
}

// ReadDeadLetter returns the redacted message PutDeadLetter stored at key,
// opened with Options.Sealer when it is sealed. It wraps ErrNotFound when
// there is no such object, ErrSealed when it is sealed and no Sealer is
// set, ErrCorrupt when it is not gzip, and ErrDeadLetterTooLarge past
// MaxDeadLetterBytes. Safe for concurrent use.
func (s *Sink) ReadDeadLetter(ctx context.Context, key string) ([]byte, error) {
	body, err := s.get(ctx, key, MaxDeadLetterBytes)
	if err != nil {
		return nil, err
	}
	if body, err = OpenObject(ctx, s.opts.Sealer, key, body); err != nil {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w", s.opts.Bucket, key, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w: %w", s.opts.Bucket, key, ErrCorrupt, err)
	}
	msg, err := io.ReadAll(io.LimitReader(zr, MaxDeadLetterBytes+1))
	if err != nil {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w: %w", s.opts.Bucket, key, ErrCorrupt, err)
	}
	if len(msg) > MaxDeadLetterBytes {
		return nil, fmt.Errorf("archive: read s3://%s/%s: %w (%d bytes)", s.opts.Bucket, key, ErrDeadLetterTooLarge, MaxDeadLetterBytes)
	}
	return msg, nil
}

// gzipBytes compresses b.
func gzipBytes(b []byte) ([]byte, error) {
	var out bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&out)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	return out.Bytes(), nil
}
