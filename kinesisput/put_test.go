package kinesisput

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/sinks"
)

// faultyPutter passes PutRecords through to the real (kinesalite) client
// and refuses single entries as the service does under load, which
// kinesalite never does: fault names the error code for the attempt-th
// sending (1-based) of an entry, by its data, or "" to let it through.
// The refused entries are not sent to kinesalite; the answer holds one
// result per entry, in request order. Safe for concurrent use.
type faultyPutter struct {
	real  *kinesis.Client
	fault func(data string, attempt int) string

	mu       sync.Mutex
	attempts map[string]int
	calls    [][]string // the data of each call's entries
	refused  [][]string // the data each call refused
}

func (f *faultyPutter) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	codes := make([]string, len(in.Records))
	var pass []types.PutRecordsRequestEntry
	var call, refused []string
	f.mu.Lock()
	for i, e := range in.Records {
		d := string(e.Data)
		f.attempts[d]++
		codes[i] = f.fault(d, f.attempts[d])
		call = append(call, d)
		if codes[i] == "" {
			pass = append(pass, e)
		} else {
			refused = append(refused, d)
		}
	}
	f.calls = append(f.calls, call)
	f.refused = append(f.refused, refused)
	f.mu.Unlock()
	var accepted []types.PutRecordsResultEntry
	if len(pass) > 0 {
		out, err := f.real.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: in.StreamName, Records: pass}, optFns...)
		if err != nil {
			return nil, err
		}
		if aws.ToInt32(out.FailedRecordCount) != 0 {
			return nil, fmt.Errorf("kinesalite refused %d records", aws.ToInt32(out.FailedRecordCount))
		}
		accepted = out.Records
	}
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(int32(len(refused)))}
	for _, code := range codes {
		if code != "" {
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("injected")})
			continue
		}
		out.Records = append(out.Records, accepted[0])
		accepted = accepted[1:]
	}
	return out, nil
}

// newFaultStream creates a 2-shard kinesalite stream, deleted at the end.
func newFaultStream(t *testing.T, ctx context.Context, client *kinesis.Client) string {
	t.Helper()
	stream := testenv.UniqueName("putfault")
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(stream)}); err != nil {
			t.Errorf("delete stream: %v", err)
		}
	})
	for {
		out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return stream
		}
		if ctx.Err() != nil {
			t.Fatal("stream not active")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readStream returns the data of every record of the stream, by shard in
// order.
func readStream(t *testing.T, ctx context.Context, client *kinesis.Client, stream string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for iter := it.ShardIterator; iter != nil; {
			page, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Records) == 0 {
				break
			}
			for _, r := range page.Records {
				out[shard] = append(out[shard], string(r.Data))
			}
			iter = page.NextShardIterator
		}
	}
	return out
}

// TestPutRecordsFault refuses single PutRecords entries: the transient
// refusals (throttled, internal failure) are sent again, only they, until
// accepted, and every record ends in the stream once with the versions of
// each partition key in order; an entry refused for good ends the put with
// an error naming the code, without being sent again.
func TestPutRecordsFault(t *testing.T) {
	testenv.SetAWSDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := pipeline.NewKinesisClient(ctx, testenv.KinesisEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	const keys, versions = 10, 3
	// Versions interleaved across keys: every key has its three versions
	// in one batch of 30 (one PutRecords request before the fix).
	var entries []types.PutRecordsRequestEntry
	for v := 1; v <= versions; v++ {
		for k := range keys {
			entries = append(entries, types.PutRecordsRequestEntry{
				Data: fmt.Appendf(nil, "K%d#%d", k, v), PartitionKey: aws.String(fmt.Sprintf("K%d", k)),
			})
		}
	}
	tests := []struct {
		name string
		// refuse: data -> the codes of its first sendings.
		refuse  map[string][]string
		wantErr string // the code of an entry refused for good; "" if all must arrive
	}{
		{name: "throttled entries", refuse: map[string][]string{
			"K0#1": {"ProvisionedThroughputExceededException"}, "K1#1": {"ProvisionedThroughputExceededException"},
			"K2#2": {"ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException"},
			"K9#3": {"ProvisionedThroughputExceededException"},
		}},
		{name: "internal failure", refuse: map[string][]string{
			"K3#1": {"InternalFailure"}, "K4#2": {"InternalFailure", "ProvisionedThroughputExceededException"},
		}},
		{name: "refused for good", refuse: map[string][]string{
			"K5#1": {"ProvisionedThroughputExceededException"}, "K6#2": {"KMSAccessDeniedException"},
		}, wantErr: "KMSAccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := newFaultStream(t, ctx, client)
			fp := &faultyPutter{real: client, attempts: map[string]int{}, fault: func(data string, attempt int) string {
				if codes := tt.refuse[data]; attempt <= len(codes) {
					return codes[attempt-1]
				}
				return ""
			}}
			putCtx, cancelPut := context.WithTimeout(ctx, 10*time.Second)
			defer cancelPut()
			start := time.Now()
			err := Put(putCtx, fp, stream, entries, sinks.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond})
			took := time.Since(start)
			t.Logf("%d calls in %v: %v", len(fp.calls), took.Round(time.Millisecond), fp.calls)

			if tt.wantErr == "" && err != nil {
				t.Fatalf("Put: %v", err)
			}
			if tt.wantErr != "" {
				var refused *RefusedError
				if !errors.As(err, &refused) || refused.Code != tt.wantErr {
					t.Fatalf("Put: %v, want a RefusedError with code %s", err, tt.wantErr)
				}
				if errors.Is(err, context.DeadlineExceeded) || took > 5*time.Second {
					t.Errorf("Put gave up after %v (%v): it retried an entry refused for good", took, err)
				}
			}
			// Every entry is sent once more per transient refusal, and
			// the entry refused for good only once.
			sent := map[string]int{}
			for _, c := range fp.calls {
				for _, d := range c {
					sent[d]++
				}
			}
			for d, codes := range tt.refuse {
				want := len(codes) + 1
				if tt.wantErr != "" && codes[len(codes)-1] == tt.wantErr {
					want = len(codes)
				}
				if sent[d] != want {
					t.Errorf("%s sent %d times, want %d (refusals %v)", d, sent[d], want, codes)
				}
			}
			for d, n := range sent {
				if _, ok := tt.refuse[d]; !ok && n != 1 {
					t.Errorf("%s was accepted but sent %d times", d, n)
				}
			}
			// A resend holds only what the call before refused.
			for i := 1; i < len(fp.calls); i++ {
				if prev := fp.refused[i-1]; len(prev) > 0 && !slices.Equal(fp.calls[i], prev) {
					t.Errorf("call %d sent %v after call %d refused %v: want exactly the refused entries", i+1, fp.calls[i], i, prev)
				}
			}

			got := readStream(t, ctx, client, stream)
			count := map[string]int{}
			for shard, data := range got {
				last := map[string]int{}
				for _, d := range data {
					count[d]++
					key, v, _ := strings.Cut(d, "#")
					n, _ := strconv.Atoi(v)
					if n <= last[key] {
						t.Errorf("shard %s: %s read after version %d: order of the key broken", shard, d, last[key])
					}
					last[key] = n
				}
			}
			for _, e := range entries {
				d := string(e.Data)
				want := 1
				if tt.wantErr != "" && slices.Contains(tt.refuse[d], tt.wantErr) {
					want = 0
				}
				if tt.wantErr == "" && count[d] != want || tt.wantErr != "" && count[d] > want {
					t.Errorf("%s is %d times in the stream, want %d", d, count[d], want)
				}
			}
		})
	}
}
