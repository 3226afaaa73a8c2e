package console

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
)

// KafkaLag reads a consumer group's committed offsets and the partitions'
// end offsets (kadm). Safe for concurrent use.
type KafkaLag struct {
	Admin *kadm.Client
	Group string
}

// Lag implements LagReader.
func (k KafkaLag) Lag(ctx context.Context) ([]PartitionLag, error) {
	lags, err := k.Admin.Lag(ctx, k.Group)
	if err != nil {
		return nil, fmt.Errorf("console: lag of group %q: %w", k.Group, err)
	}
	g, ok := lags[k.Group]
	if !ok {
		return nil, nil
	}
	if err := g.Error(); err != nil {
		return nil, fmt.Errorf("console: lag of group %q: %w", k.Group, err)
	}
	var out []PartitionLag
	for _, l := range g.Lag.Sorted() { // by topic, partition
		if l.Err != nil {
			return nil, fmt.Errorf("console: lag of %s/%d: %w", l.Topic, l.Partition, l.Err)
		}
		out = append(out, PartitionLag{Topic: l.Topic, Partition: l.Partition,
			Committed: l.Commit.At, End: l.End.Offset, Lag: l.Lag})
	}
	return out, nil
}
