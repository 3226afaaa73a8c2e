package dynamo

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks"
)

// Item is a stored reservation as the read helpers return it.
type Item struct {
	Reservation reservation.Reservation
	// Version is the stored reservation.Version.String().
	Version string
	// ArchiveKey is the S3 key of the message the item came from.
	ArchiveKey string
	// UpdatedAt is when the item was written (RFC 3339, UTC).
	UpdatedAt string
}

// GuestIDFunc derives the by_guest index key of a reservation; "" leaves
// the reservation out of that index.
type GuestIDFunc func(r *reservation.Reservation) string

// EmailGuestID is the default GuestIDFunc: the primary guest's e-mail
// address, trimmed and lower-cased. A keyed blind index can replace it
// without changing the table.
func EmailGuestID(r *reservation.Reservation) string {
	return NormalizeEmail(r.PrimaryGuest().Email)
}

// NormalizeEmail is how EmailGuestID normalises an address; readers use it
// to turn a query's e-mail into a guest id.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

func partitionKey(hotel string) string        { return "HOTEL#" + hotel }
func sortKey(confirmation string) string      { return "RES#" + confirmation }
func arrivalConf(arrival, conf string) string { return arrival + "#" + conf }

func keyOf(k reservation.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: partitionKey(k.HotelCode)},
		attrSK: &types.AttributeValueMemberS{Value: sortKey(k.Confirmation)},
	}
}

// jsonTags makes attribute names the record's JSON field names, so the
// stored item reads like the contract.
func jsonTags(o *attributevalue.EncoderOptions)       { o.TagKey = "json" }
func jsonTagsDecode(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// packedLists is the JSON of an item's lists attribute: the record's
// room stays, guests and external ids under their contract names.
//
// Why one string and not nested lists of maps: a nested item costs
// DynamoDB (dynalite here) a parse and size computation per attribute,
// about 60 of them for a booking of three room stays and two guests; as
// one string the same put costs 0.60-0.74x (sinks/dynamo
// BenchmarkItemShape), for 12% more bytes (JSON's quotes and separators;
// packLists leaves zero-valued fields out). Nothing
// queries inside the lists: the indexes use top-level attributes.
type packedLists struct {
	RoomStays   []reservation.RoomStay   `json:"room_stays"`
	Guests      []reservation.Guest      `json:"guests"`
	ExternalIDs []reservation.ExternalID `json:"external_ids"`
	// SpecialRequests is left out when there are none (most bookings).
	SpecialRequests []reservation.SpecialRequest `json:"special_requests,omitempty"`
}

// encodeItem builds the item for rec. The record's scalar fields keep
// their JSON names as attributes; its lists are one JSON string, lists
// (packedLists); the sink adds keys, version and bookkeeping beside them.
func encodeItem(rec *sinks.Record, guestID GuestIDFunc, now time.Time) (map[string]types.AttributeValue, error) {
	r := rec.Reservation
	r.Normalize() // empty lists, never NULL
	lists, err := packLists(&r)
	if err != nil {
		return nil, fmt.Errorf("dynamo: encode %s: %w", r.Key(), err)
	}
	scalars := r
	scalars.RoomStays, scalars.Guests, scalars.ExternalIDs, scalars.SpecialRequests = nil, nil, nil, nil
	item, err := attributevalue.MarshalMapWithOptions(scalars, jsonTags)
	if err != nil {
		return nil, fmt.Errorf("dynamo: encode %s: %w", r.Key(), err)
	}
	delete(item, "room_stays")
	delete(item, "guests")
	delete(item, "external_ids")
	delete(item, "special_requests")
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	item[attrLists] = s(string(lists))
	item[attrPK] = s(partitionKey(r.HotelCode))
	item[attrSK] = s(sortKey(r.Confirmation))
	item[attrVersion] = s(rec.Version.String())
	item[attrArrivalConf] = s(arrivalConf(r.Arrival, r.Confirmation))
	item[attrArchiveKey] = s(rec.ArchiveKey)
	item[attrUpdatedAt] = s(now.UTC().Format(time.RFC3339Nano))
	id := guestID(&r)
	if i := r.PrimaryGuestIndex(); i >= 0 && len(rec.GuestIndexes) > 0 {
		id = rec.GuestIndex(i).Email // sealed: the blind index, never the address
	}
	if id != "" { // index keys may not be empty strings
		item[attrGuestID] = s(id)
	}
	if v := pii.SealedVersion(r.Guests); v != "" { // re-encryption scans for items not under the current version
		item[attrPIIKey] = s(v)
	}
	return item, nil
}

// decodeItem turns a stored item back into the record and its bookkeeping.
// It reads both shapes: lists packed in one string (written since issue
// 16) and nested lists of maps (items written before).
func decodeItem(av map[string]types.AttributeValue) (Item, error) {
	var it Item
	if err := attributevalue.UnmarshalMapWithOptions(av, &it.Reservation, jsonTagsDecode); err != nil {
		return Item{}, fmt.Errorf("dynamo: decode item: %w", err)
	}
	if packed, ok := av[attrLists].(*types.AttributeValueMemberS); ok {
		var l packedLists
		if err := json.Unmarshal([]byte(packed.Value), &l); err != nil {
			return Item{}, fmt.Errorf("dynamo: decode item's lists: %w", err)
		}
		it.Reservation.RoomStays, it.Reservation.Guests, it.Reservation.ExternalIDs = l.RoomStays, l.Guests, l.ExternalIDs
		it.Reservation.SpecialRequests = l.SpecialRequests
	}
	it.Reservation.Normalize()
	it.Version = stringAttr(av, attrVersion)
	it.ArchiveKey = stringAttr(av, attrArchiveKey)
	it.UpdatedAt = stringAttr(av, attrUpdatedAt)
	return it, nil
}

func stringAttr(av map[string]types.AttributeValue, name string) string {
	if s, ok := av[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
