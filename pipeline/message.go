package pipeline

import "time"

// Message is one raw message from a source.
type Message struct {
	Value []byte
	// Size, when larger than len(Value), is the size of the whole message:
	// the source kept only its first bytes because it is over the limit
	// (see CutOversized). 0: Value is the whole message.
	Size int
	// Source names the kind of source: "kafka", "kinesis", "file", ...
	Source string
	// Partition is where the message came from: "topic/3", a shard id, a
	// folder.
	Partition string
	// Position is the decimal offset or sequence number within Partition;
	// it breaks version ties and keys the audit row.
	Position   string
	ReceivedAt time.Time
}

// Outcome is what became of one message.
type Outcome string

const (
	OutcomeStored       Outcome = "stored"
	OutcomeStale        Outcome = "stale"
	OutcomeDuplicate    Outcome = "duplicate"
	OutcomeDeadLettered Outcome = "dead_lettered"
)
