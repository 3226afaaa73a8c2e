package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/resingest/resingest/parse"
)

func init() { addCommand(newProduceCmd) }

type produceFlags struct {
	brokers []string
	topic   string
	noKeys  bool
}

func newProduceCmd() *cobra.Command {
	var f produceFlags
	cmd := &cobra.Command{
		Use:   "produce --topic TOPIC [--no-keys] FILE|DIR ...",
		Short: "Send XML message files to a Kafka topic (for demos, tests and replays)",
		Long: `produce sends each file (a directory stands for its *.xml files, in name order)
as one Kafka record. The record key is the confirmation number of the
message's first reservation, so all versions of a reservation land on one
partition; with --no-keys records are spread over partitions without keys.
A file the parser rejects is still sent (without a key): the consumer
dead-letters it.`,
		Example: `  resingest gen --count 1000 --out /tmp/msgs
  resingest produce --topic reservations /tmp/msgs`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(f.brokers) == 0 {
				return errors.New("--brokers (or RESINGEST_KAFKA_BROKERS) is required")
			}
			files, err := expandInputs(args)
			if err != nil {
				return err
			}
			n, err := produceFiles(cmd.Context(), f, files)
			fmt.Fprintf(cmd.ErrOrStderr(), "produce: %d records to %s\n", n, f.topic)
			return err
		},
	}
	cmd.Flags().StringSliceVar(&f.brokers, "brokers", nil, "Kafka seed brokers (env RESINGEST_KAFKA_BROKERS)")
	cmd.Flags().StringVar(&f.topic, "topic", "reservations", "Kafka topic")
	cmd.Flags().BoolVar(&f.noKeys, "no-keys", false, "send records without keys (versions of a reservation spread over partitions)")
	return cmd
}

// produceFiles sends files as records, at most a few thousand in flight.
func produceFiles(ctx context.Context, f produceFlags, files []string) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.brokers...), kgo.DefaultProduceTopic(f.topic),
		kgo.AllowAutoTopicCreation(), kgo.MaxBufferedRecords(4096), kgo.ProducerLinger(5*time.Millisecond),
		kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, true, true, nil)))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	p, err := parse.New(parse.Options{})
	if err != nil {
		return 0, err
	}
	var mu sync.Mutex
	var firstErr error
	sent := 0
	for _, name := range files {
		value, err := os.ReadFile(name)
		if err != nil {
			return sent, err
		}
		rec := &kgo.Record{Value: value}
		if !f.noKeys {
			if key := messageKey(p, value, ""); key != "" {
				rec.Key = []byte(key)
			}
		}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("produce %s: %w", filepath.Base(name), err)
			}
		})
		sent++
	}
	if err := cl.Flush(ctx); err != nil {
		return sent, err
	}
	mu.Lock()
	defer mu.Unlock()
	return sent, firstErr
}
