package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/reservation"
)

// ErrNotFound is returned by Get when no item has the key.
var ErrNotFound = errors.New("dynamo: reservation not found")

// ErrBadCursor is returned when a page cursor was not made by this query.
var ErrBadCursor = errors.New("dynamo: invalid page cursor")

// Page is one page of a query; Cursor is "" on the last page, else what
// to pass to get the next one (which may be empty when this page ended on
// the last item, as DynamoDB cannot tell). Cursors are opaque to callers.
type Page struct {
	Items  []Item
	Cursor string
}

// query makes one Query request within the attempt deadline: a frozen or
// unreachable DynamoDB fails the read (the API answers 503) instead of
// holding the caller until its own deadline.
func (s *Sink) query(ctx context.Context, in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	return s.api.Query(ctx, in)
}

// Get reads the stored reservation with key k (strongly consistent) and
// its version string, or ErrNotFound, within the attempt deadline.
func (s *Sink) Get(ctx context.Context, k reservation.Key) (reservation.Reservation, string, error) {
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	out, err := s.api.GetItem(actx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.opts.Table),
		Key:            keyOf(k),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return reservation.Reservation{}, "", fmt.Errorf("dynamo: get %s: %w", k, err)
	}
	if out.Item == nil {
		return reservation.Reservation{}, "", fmt.Errorf("get %s: %w", k, ErrNotFound)
	}
	it, err := decodeItem(out.Item)
	if err != nil {
		return reservation.Reservation{}, "", err
	}
	return it.Reservation, it.Version, nil
}

// QueryArrivals returns a page of at most limit (> 0) reservations of hotel
// arriving on date (YYYY-MM-DD), ordered by confirmation, starting after
// cursor ("" for the first page). Index reads are eventually consistent.
func (s *Sink) QueryArrivals(ctx context.Context, hotel, date string, limit int32, cursor string) (Page, error) {
	if hotel == "" || date == "" || limit <= 0 {
		return Page{}, errors.New("dynamo: query arrivals: hotel, date and a positive limit are required")
	}
	start, err := decodeCursor(cursor, attrHotel, hotel)
	if err != nil {
		return Page{}, err
	}
	out, err := s.query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.opts.Table),
		IndexName:              aws.String(IndexByHotelArrival),
		KeyConditionExpression: aws.String("hotel_code = :h AND begins_with(arrival_conf, :d)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":h": &types.AttributeValueMemberS{Value: hotel},
			":d": &types.AttributeValueMemberS{Value: date + "#"},
		},
		Limit:             aws.Int32(limit),
		ExclusiveStartKey: start,
	})
	if err != nil {
		return Page{}, fmt.Errorf("dynamo: query arrivals of %s on %s: %w", hotel, date, err)
	}
	items, err := s.itemsOf(ctx, out.Items)
	if err != nil {
		return Page{}, err
	}
	next, err := encodeCursor(out.LastEvaluatedKey)
	return Page{Items: items, Cursor: next}, err
}

// QueryGuest returns every reservation of guestID (see GuestIDFunc) whose
// arrival lies in [from, to] (YYYY-MM-DD, either may be "" for no bound),
// ordered by arrival. Index reads are eventually consistent.
func (s *Sink) QueryGuest(ctx context.Context, guestID, from, to string) ([]Item, error) {
	if guestID == "" {
		return nil, errors.New("dynamo: query guest: guest id is required")
	}
	values := map[string]types.AttributeValue{":g": &types.AttributeValueMemberS{Value: guestID}}
	cond := "guest_id = :g"
	// "$" sorts right after "#", so "<to>$" is above every "<to>#<conf>".
	switch {
	case from != "" && to != "":
		cond += " AND arrival_conf BETWEEN :from AND :to"
		values[":from"] = &types.AttributeValueMemberS{Value: from}
		values[":to"] = &types.AttributeValueMemberS{Value: to + "$"}
	case from != "":
		cond += " AND arrival_conf >= :from"
		values[":from"] = &types.AttributeValueMemberS{Value: from}
	case to != "":
		cond += " AND arrival_conf < :to"
		values[":to"] = &types.AttributeValueMemberS{Value: to + "$"}
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.opts.Table),
		IndexName:                 aws.String(IndexByGuest),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeValues: values,
	}
	var all []Item
	for {
		out, err := s.query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamo: query guest reservations: %w", err)
		}
		items, err := s.itemsOf(ctx, out.Items)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(out.LastEvaluatedKey) == 0 {
			return all, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// KeysByConfirmation returns the keys of at most limit reservations with
// this confirmation number, in hotel order, from the by_confirmation index
// (eventually consistent: read each with Get).
func (s *Sink) KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.opts.Table),
		IndexName:                 aws.String(IndexByConfirmation),
		KeyConditionExpression:    aws.String("#c = :c"),
		ExpressionAttributeNames:  map[string]string{"#c": attrConf},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: confirmation}},
		Limit:                     aws.Int32(int32(limit)),
	}
	var keys []reservation.Key
	for len(keys) < limit {
		out, err := s.query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamo: query confirmation: %w", err)
		}
		for _, it := range out.Items {
			if h := stringAttr(it, attrHotel); h != "" && len(keys) < limit {
				keys = append(keys, reservation.Key{HotelCode: h, Confirmation: confirmation})
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return keys, nil
}

func decodeItems(avs []map[string]types.AttributeValue) ([]Item, error) {
	items := make([]Item, 0, len(avs))
	for _, av := range avs {
		it, err := decodeItem(av)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// encodeCursor renders a LastEvaluatedKey (all of whose attributes are
// strings in this table) as URL-safe text.
func encodeCursor(key map[string]types.AttributeValue) (string, error) {
	if len(key) == 0 {
		return "", nil
	}
	plain := make(map[string]string, len(key))
	for name, av := range key {
		s, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("dynamo: key attribute %s is not a string", name)
		}
		plain[name] = s.Value
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return "", fmt.Errorf("dynamo: encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor is the inverse of encodeCursor; the cursor must belong to
// the partition being queried (attribute name = value), so a cursor cannot
// be replayed against another hotel.
func decodeCursor(cursor, name, value string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if plain[name] != value {
		return nil, fmt.Errorf("%w: cursor belongs to another query", ErrBadCursor)
	}
	key := make(map[string]types.AttributeValue, len(plain))
	for k, v := range plain {
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}

// TableDescriber is the optional ability of an API to describe the table
// (*dynamodb.Client has it); Ping needs it.
type TableDescriber interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// ErrCannotPing is returned by Ping when the sink's API cannot describe
// tables.
var ErrCannotPing = errors.New("dynamo: the client cannot describe tables")

// Ping checks that the table exists and answers, within the attempt
// deadline. Safe for concurrent use.
func (s *Sink) Ping(ctx context.Context) error {
	d, ok := s.api.(TableDescriber)
	if !ok {
		return ErrCannotPing
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	if _, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.opts.Table)}); err != nil {
		return storeError(s.opts.Table, err)
	}
	return nil
}
