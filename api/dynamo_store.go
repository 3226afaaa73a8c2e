package api

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/dynamo"
)

// DynamoStore reads reservations from the DynamoDB table written by
// sinks/dynamo. It is safe for concurrent use.
//
// Guest itineraries come from the by_guest index, which holds the primary
// guest of each reservation only. A lookup by confirmation queries the
// by_confirmation index.
type DynamoStore struct {
	sink *dynamo.Sink
}

// NewDynamoStore reads through sink, whose client must be able to describe
// its table for the readiness check (*dynamodb.Client can).
func NewDynamoStore(sink *dynamo.Sink) *DynamoStore {
	return &DynamoStore{sink: sink}
}

// Get implements Store.
func (s *DynamoStore) Get(ctx context.Context, k reservation.Key) (Stored, error) {
	r, v, err := s.sink.Get(ctx, k)
	if errors.Is(err, dynamo.ErrNotFound) {
		return Stored{}, ErrNotFound
	}
	if err != nil {
		return Stored{}, asBadKey(err)
	}
	return Stored{Reservation: r, Version: v}, nil
}

// Arrivals implements Store. Its cursor is the date, a dot and the sink's
// cursor: the sink checks the hotel, the prefix the date (a start key
// outside the queried date is a ValidationException, not an empty page).
func (s *DynamoStore) Arrivals(ctx context.Context, hotel, date string, limit int, cursor string) (ArrivalsPage, error) {
	inner := ""
	if cursor != "" {
		d, rest, ok := strings.Cut(cursor, ".")
		if !ok || d != date || rest == "" {
			return ArrivalsPage{}, fmt.Errorf("%w: cursor belongs to another query", ErrBadCursor)
		}
		inner = rest
	}
	page, err := s.sink.QueryArrivals(ctx, hotel, date, int32(limit), inner)
	var apiErr smithy.APIError
	switch {
	case errors.Is(err, dynamo.ErrBadCursor):
		return ArrivalsPage{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	case inner != "" && errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException":
		return ArrivalsPage{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	case err != nil:
		return ArrivalsPage{}, asBadKey(err)
	}
	out := ArrivalsPage{Items: fromItems(page.Items)}
	if page.Cursor != "" {
		out.Cursor = date + "." + page.Cursor
	}
	return out, nil
}

// GuestReservations implements Store.
func (s *DynamoStore) GuestReservations(ctx context.Context, guestID, from, to string) ([]Stored, error) {
	items, err := s.sink.QueryGuest(ctx, guestID, from, to)
	if err != nil {
		return nil, asBadKey(err)
	}
	return fromItems(items), nil
}

// KeysByConfirmation implements Store with a query of the
// by_confirmation index.
func (s *DynamoStore) KeysByConfirmation(ctx context.Context, confirmation string, limit int) ([]reservation.Key, error) {
	keys, err := s.sink.KeysByConfirmation(ctx, confirmation, limit)
	if err != nil {
		return nil, fmt.Errorf("api: %w", asBadKey(err))
	}
	return keys, nil
}

// Ready implements Store.
func (s *DynamoStore) Ready(ctx context.Context) error {
	if err := s.sink.Ping(ctx); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	return nil
}

func fromItems(items []dynamo.Item) []Stored {
	out := make([]Stored, len(items))
	for i, it := range items {
		out[i] = Stored{Reservation: it.Reservation, Version: it.Version}
	}
	return out
}
