package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/sinks"
)

// EncodeItem builds the item the sink's Write would store for rec, for
// writers that cannot use Write (the bulk backfill's BatchWriteItem). now
// is the item's updated_at. Safe for concurrent use.
func EncodeItem(rec *sinks.Record, guestID GuestIDFunc, now time.Time) (map[string]types.AttributeValue, error) {
	if guestID == nil {
		guestID = EmailGuestID
	}
	return encodeItem(rec, guestID, now)
}

// Transient reports whether a DynamoDB error may go away on its own
// (throttling, internal errors, transport failures), as the sink decides
// its retries. Unknown errors are not transient.
func Transient(ctx context.Context, err error) bool { return transient(ctx, err) }
