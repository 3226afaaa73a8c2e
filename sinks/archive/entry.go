package archive

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Entry is one archived message: one line of an archive object.
type Entry struct {
	MessageID    string `json:"message_id"`
	HotelCode    string `json:"hotel_code"`
	Confirmation string `json:"confirmation"`
	// Version is the reservation.Version string of the first record of
	// the message in its group.
	Version string `json:"version"`
	// ReceivedAt is when the archive sink received the message (RFC 3339,
	// UTC): the pipeline hands records over right after reading them.
	ReceivedAt string `json:"received_at,omitempty"`
	// XML is the raw message, redacted.
	XML string `json:"xml"`
}

// gzipWriters recycles compressors: each holds about a megabyte of state.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// encode renders entries as gzip-compressed JSON Lines. It returns the
// compressed bytes and the size before compression.
func encode(entries []Entry) (gz []byte, raw int64, err error) {
	var out bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&out)
	cw := &countingWriter{w: zw}
	enc := json.NewEncoder(cw)
	enc.SetEscapeHTML(false) // keep the XML readable: no \u003c for '<'
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return nil, 0, fmt.Errorf("archive: encode entry: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, 0, fmt.Errorf("archive: compress: %w", err)
	}
	return out.Bytes(), cw.n, nil
}

// ErrCorrupt is wrapped by Read and Decode errors about the object's
// content (not gzip, not JSON Lines of entries).
var ErrCorrupt = errors.New("archive: corrupt object")

// Decode reads gzip-compressed JSON Lines of entries, as written by the
// sink.
func Decode(r io.Reader) ([]Entry, error) {
	zr, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	defer zr.Close()
	dec := json.NewDecoder(zr)
	var entries []Entry
	for {
		var e Entry
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", ErrCorrupt, len(entries)+1, err)
		}
		entries = append(entries, e)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
