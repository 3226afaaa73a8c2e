package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
)

// RewriteAPI is the part of the DynamoDB client the guest-data jobs use.
type RewriteAPI interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// CursorStore keeps a job's scan position (sinks/postgres implements it
// on its pii_jobs table).
type CursorStore interface {
	LoadCursor(ctx context.Context, job string, segment int) (cursor string, done bool, err error)
	SaveCursor(ctx context.Context, job string, segment int, cursor string, done bool) error
}

// GuestJob is one pass over the table that rewrites guests' personal data
// in place: re-encryption after a key rotation, or the retention purge.
type GuestJob struct {
	// Name keys the job's saved position: the same name resumes.
	Name string
	// Filter selects the items to look at (a Scan filter expression over
	// Names/Values); empty: every item.
	Filter string
	Names  map[string]string
	Values map[string]types.AttributeValue
	// Rewrite gives the guests' new form.
	Rewrite pii.GuestRewrite
	// Purge also stamps pii_purged_at (retention).
	Purge bool
	// PageSize bounds the items per Scan page (default 200).
	PageSize int32
}

const attrPurgedAt = "pii_purged_at"

// RunGuestJob scans table, rewrites the guests of matching items with
// conditional updates (an item whose version changed since it was read is
// left to the newer write and counted Skipped), and saves the scan
// position in cursors after every page, so a stopped job continues where
// it stopped; a finished job starts over. progress, when set, is called
// after each page.
func RunGuestJob(ctx context.Context, api RewriteAPI, table string, cursors CursorStore, job GuestJob, progress func(pii.RewriteStats)) (pii.RewriteStats, error) {
	var st pii.RewriteStats
	raw, done, err := cursors.LoadCursor(ctx, job.Name, 0)
	if err != nil {
		return st, err
	}
	if done {
		raw = "" // a finished job runs again from the start
	}
	var start map[string]types.AttributeValue
	if raw != "" {
		if start, err = decodeScanCursor(raw); err != nil {
			return st, fmt.Errorf("dynamo: job %s: %w", job.Name, err)
		}
	}
	if job.PageSize <= 0 {
		job.PageSize = 200
	}
	for {
		in := &dynamodb.ScanInput{TableName: aws.String(table), Limit: aws.Int32(job.PageSize), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)}
		if job.Filter != "" {
			in.FilterExpression = aws.String(job.Filter)
			in.ExpressionAttributeNames = job.Names
			in.ExpressionAttributeValues = job.Values
		}
		out, err := api.Scan(ctx, in)
		if err != nil {
			return st, fmt.Errorf("dynamo: job %s: scan: %w", job.Name, err)
		}
		st.Scanned += len(out.Items)
		for _, item := range out.Items {
			rewritten, err := rewriteItem(ctx, api, table, job, item)
			if err != nil {
				return st, fmt.Errorf("dynamo: job %s: %w", job.Name, err)
			}
			switch rewritten {
			case itemRewritten:
				st.Rewritten++
			case itemSkipped:
				st.Skipped++
			}
		}
		start = out.LastEvaluatedKey
		if len(start) == 0 {
			return st, cursors.SaveCursor(ctx, job.Name, 0, "", true)
		}
		cur, err := encodeScanCursor(start)
		if err != nil {
			return st, fmt.Errorf("dynamo: job %s: %w", job.Name, err)
		}
		if err := cursors.SaveCursor(ctx, job.Name, 0, cur, false); err != nil {
			return st, err
		}
		if progress != nil {
			progress(st)
		}
	}
}

type itemResult int

const (
	itemUnchanged itemResult = iota
	itemRewritten
	itemSkipped
)

func rewriteItem(ctx context.Context, api RewriteAPI, table string, job GuestJob, item map[string]types.AttributeValue) (itemResult, error) {
	var guests []reservation.Guest
	// An item keeps its guests in its packed lists (encodeItem), or, when
	// written before issue 16, in a nested guests attribute: the rewrite
	// keeps the item's shape.
	var packed *packedLists
	if av, ok := item[attrLists].(*types.AttributeValueMemberS); ok {
		packed = &packedLists{}
		if err := json.Unmarshal([]byte(av.Value), packed); err != nil {
			return 0, fmt.Errorf("decode lists of %s/%s: %w", stringAttr(item, attrPK), stringAttr(item, attrSK), err)
		}
		guests = packed.Guests
	} else if av, ok := item["guests"]; ok {
		if err := attributevalue.UnmarshalWithOptions(av, &guests, jsonTagsDecode); err != nil {
			return 0, fmt.Errorf("decode guests of %s/%s: %w", stringAttr(item, attrPK), stringAttr(item, attrSK), err)
		}
	}
	out, idx, changed, err := job.Rewrite(ctx, guests)
	if err != nil {
		return 0, fmt.Errorf("%s/%s: %w", stringAttr(item, attrPK), stringAttr(item, attrSK), err)
	}
	if !changed && !job.Purge {
		return itemUnchanged, nil
	}
	if out == nil {
		out = []reservation.Guest{}
	}
	set := "SET guests = :g"
	var gav types.AttributeValue
	if packed != nil {
		packed.Guests = out
		if job.Purge { // the requests' text is personal data too
			for i := range packed.SpecialRequests {
				packed.SpecialRequests[i].Text = ""
			}
		}
		b, err := json.Marshal(packed)
		if err != nil {
			return 0, fmt.Errorf("encode lists: %w", err)
		}
		set, gav = "SET "+attrLists+" = :g", &types.AttributeValueMemberS{Value: string(b)}
	} else if gav, err = attributevalue.MarshalWithOptions(out, jsonTags); err != nil {
		return 0, fmt.Errorf("encode guests: %w", err)
	}
	var remove []string
	values := map[string]types.AttributeValue{":g": gav, ":v": item[attrVersion]}
	r := reservation.Reservation{Guests: out}
	if i := r.PrimaryGuestIndex(); i >= 0 && i < len(idx) && idx[i].Email != "" {
		set += ", " + attrGuestID + " = :gid"
		values[":gid"] = &types.AttributeValueMemberS{Value: idx[i].Email}
	} else {
		remove = append(remove, attrGuestID)
	}
	if v := pii.SealedVersion(out); v != "" {
		set += ", " + attrPIIKey + " = :k"
		values[":k"] = &types.AttributeValueMemberS{Value: v}
	} else {
		remove = append(remove, attrPIIKey)
	}
	if job.Purge {
		set += ", " + attrPurgedAt + " = :p"
		values[":p"] = &types.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339)}
	}
	expr := set
	if len(remove) > 0 {
		expr += " REMOVE " + remove[0]
		for _, a := range remove[1:] {
			expr += ", " + a
		}
	}
	_, err = api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]},
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(attrVersion + " = :v"),
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return itemSkipped, nil
	}
	if err != nil {
		return 0, fmt.Errorf("update %s/%s: %w", stringAttr(item, attrPK), stringAttr(item, attrSK), err)
	}
	return itemRewritten, nil
}

func encodeScanCursor(key map[string]types.AttributeValue) (string, error) {
	m := map[string]string{}
	for k, v := range key {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("scan key attribute %s is not a string", k)
		}
		m[k] = s.Value
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeScanCursor(raw string) (map[string]types.AttributeValue, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("bad saved scan position: %w", err)
	}
	out := map[string]types.AttributeValue{}
	for k, v := range m {
		out[k] = &types.AttributeValueMemberS{Value: v}
	}
	return out, nil
}

// ReencryptJob is the GuestJob that re-seals items not sealed under
// current (plain legacy items included).
func ReencryptJob(current string, rewrite pii.GuestRewrite) GuestJob {
	return GuestJob{
		Name:    "reencrypt-dynamo:" + current,
		Filter:  "attribute_not_exists(#k) OR #k <> :cur",
		Names:   map[string]string{"#k": attrPIIKey},
		Values:  map[string]types.AttributeValue{":cur": &types.AttributeValueMemberS{Value: current}},
		Rewrite: rewrite,
	}
}

// PurgeJob is the GuestJob that anonymises the guests of reservations that
// departed before `before` (YYYY-MM-DD) and are not purged yet.
func PurgeJob(before string) GuestJob {
	return GuestJob{
		Name:   "purge-dynamo:" + before,
		Filter: "#d < :before AND #d <> :none AND attribute_not_exists(#p)",
		Names:  map[string]string{"#d": "departure", "#p": attrPurgedAt},
		Values: map[string]types.AttributeValue{
			":before": &types.AttributeValueMemberS{Value: before},
			":none":   &types.AttributeValueMemberS{Value: ""},
		},
		Purge: true,
		Rewrite: func(_ context.Context, guests []reservation.Guest) ([]reservation.Guest, []pii.GuestIndex, bool, error) {
			return pii.Anonymise(guests), nil, true, nil
		},
	}
}
