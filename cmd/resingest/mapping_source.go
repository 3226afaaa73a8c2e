package main

import (
	"github.com/resingest/resingest/parse"
)

// sourceName is the kind and name --mapping-per-source knows this worker's
// source by.
func (f *consumeFlags) sourceName() (kind, name string) {
	switch f.source {
	case "kafka":
		return "kafka", f.topic
	case "kinesis":
		return "kinesis", f.kinesis.stream
	}
	return "file", f.path
}

// resolveMapping replaces --mapping by the --mapping-per-source entry of
// this worker's source, if the list names it. Every mapping of the list is
// loaded, so a bad entry stops the worker at start even if it is another
// source's.
func (f *consumeFlags) resolveMapping() error {
	if f.mappingSources == "" {
		return nil
	}
	sm, err := parse.ParseSourceMappings(f.mappingSources)
	if err != nil {
		return err
	}
	if m, ok := sm.For(f.sourceName()); ok {
		f.mapping = m
	}
	return nil
}
