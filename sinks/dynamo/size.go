package dynamo

import (
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// MaxItemBytes is the largest item DynamoDB stores (400 KB, by ItemSize).
const MaxItemBytes = 400 * 1024

// ItemTooLargeError is the permanent refusal of a record whose item would
// exceed MaxItemBytes. It names the key and the size, never a value.
type ItemTooLargeError struct {
	Key   reservation.Key
	Bytes int
}

func (e *ItemTooLargeError) Error() string {
	return fmt.Sprintf("dynamo: item %s would be %d bytes, more than DynamoDB's %d", e.Key, e.Bytes, MaxItemBytes)
}

// Check reports whether the sink would refuse rec for good, without
// writing anything: an unkeyed record, or one whose item exceeds
// MaxItemBytes. The pipeline asks every store before it writes to any, so
// that a record one store cannot hold is dead-lettered instead of being
// stored in the others. Safe for concurrent use.
func (s *Sink) Check(rec *sinks.Record) error {
	if err := sinks.CheckKeyed(rec); err != nil {
		return fmt.Errorf("dynamo: %w", err)
	}
	if itemBound(rec) <= MaxItemBytes { // nearly every record: no encoding
		return nil
	}
	item, err := encodeItem(rec, s.opts.GuestID, s.opts.Now())
	if err != nil {
		return err
	}
	return checkSize(rec.Reservation.Key(), item)
}

// jsonBufs holds buffers for itemBound's JSON.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// itemBound is an upper bound of rec's item size, cheaper than encoding
// the item (about 1.8 µs against 12-27 µs; BenchmarkCheck): the item holds the record's fields
// under their JSON names, scalars unescaped and lists packed with their
// zero fields left out, so the record's JSON is longer than they are; the
// rest is bookkeeping: the keys, the arrival key, the version, the
// archive key, the guest id (an e-mail or a blind index) and two times.
func itemBound(rec *sinks.Record) int {
	r := &rec.Reservation
	bp := jsonBufs.Get().(*[]byte)
	b := r.AppendExtendedJSON((*bp)[:0])
	n := len(b)
	*bp = b[:0]
	jsonBufs.Put(bp)
	return n + 1024 + 2*len(r.HotelCode) + 3*len(r.Confirmation) + len(r.Arrival) +
		len(rec.Version.String()) + len(rec.ArchiveKey) + len(r.PrimaryGuest().Email)
}

// checkSize refuses an item over MaxItemBytes. It runs on every write, so
// numbers are first counted by their text (an upper bound, no parsing);
// only an item near the limit is measured exactly.
func checkSize(k reservation.Key, item map[string]types.AttributeValue) error {
	if itemSize(item, false) <= MaxItemBytes {
		return nil
	}
	if n := ItemSize(item); n > MaxItemBytes {
		return &ItemTooLargeError{Key: k, Bytes: n}
	}
	return nil
}

// ItemSize is an item's size by AWS's rules: attribute names and values in
// UTF-8 bytes, numbers one byte per two significant digits plus one,
// booleans and nulls one byte, lists and maps 3 bytes plus one per
// element (and the names of a map's elements).
func ItemSize(item map[string]types.AttributeValue) int { return itemSize(item, true) }

// itemSize is ItemSize, or with exact false an upper bound that counts a
// number as its text plus one.
func itemSize(item map[string]types.AttributeValue, exact bool) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v, exact)
	}
	return n
}

func valueSize(v types.AttributeValue, exact bool) int {
	num := func(s string) int {
		if exact {
			return numberSize(s)
		}
		return len(s) + 1
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return num(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += num(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e, exact)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e, exact)
		}
		return n
	}
	return 0
}

// numberSize is 1 byte per two significant digits, plus 1.
func numberSize(s string) int {
	f, ok := new(big.Float).SetString(s)
	if !ok {
		return len(s)
	}
	digits := strings.Trim(strings.NewReplacer(".", "", "-", "").Replace(f.Text('f', -1)), "0")
	return (len(digits)+1)/2 + 1
}
