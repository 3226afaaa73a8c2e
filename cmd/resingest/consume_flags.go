package main

import (
	"errors"
	"fmt"
	"time"
)

// consumeFlags are the settings of 'consume'.
type consumeFlags struct {
	source          string
	brokers         []string
	topic, group    string
	fromStart       bool
	sessionTimeout  time.Duration
	instanceID      string
	path            string
	batchSize       int
	exitWhenIdle    time.Duration
	shutdownTimeout time.Duration
	metricsAddr     string
	mapping         string
	mappingSources  string // --mapping-per-source (mapping_source.go)
	dryRun          bool   // --dry-run (dryrun.go)
	maxBytes        int
	stallTimeout    time.Duration
	cpuProfile      string
	pendingTTL      time.Duration
	pendingSweep    time.Duration
	partitions      partitionFlags // db_partitions.go
	stores          storeFlags
	kinesis         kinesisFlags
}

func (f *consumeFlags) validate() error {
	switch f.source {
	case "kafka":
		if len(f.brokers) == 0 {
			return errors.New("--source kafka needs --brokers (or RESINGEST_KAFKA_BROKERS)")
		}
		if f.topic == "" || f.group == "" {
			return errors.New("--source kafka needs --topic and --group")
		}
	case "file":
		if f.path == "" {
			return errors.New("--source file needs --path DIR")
		}
	case "kinesis":
		if err := f.kinesis.validate(f.batchSize); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--source %q: must be kafka, kinesis or file", f.source)
	}
	if f.batchSize <= 0 {
		return fmt.Errorf("--batch-size %d: must be positive", f.batchSize)
	}
	if f.stallTimeout <= 0 {
		return errors.New("--stall-timeout must be positive")
	}
	if f.pendingTTL <= 0 || f.pendingSweep <= 0 {
		return errors.New("--pending-ttl and --pending-sweep-interval must be positive")
	}
	if err := f.partitions.validate(true); err != nil {
		return err
	}
	if f.exitWhenIdle < 0 || f.shutdownTimeout <= 0 {
		return errors.New("--exit-when-idle must be >= 0 and --shutdown-timeout > 0")
	}
	if err := f.resolveMapping(); err != nil {
		return err
	}
	if f.dryRun {
		return nil // a dry run opens no store
	}
	return f.stores.validate()
}
