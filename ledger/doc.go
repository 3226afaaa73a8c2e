// Package ledger holds the records the pipeline keeps about messages
// besides the reservations themselves: the audit trail's rows, dead
// letters, and the records held for key resolution with the stored
// reservations they may belong to. The pipeline declares the interfaces
// it needs in these terms, and a store (sinks/postgres) implements them,
// so neither imports the other. The package holds types only; none of
// them is safe for concurrent mutation.
package ledger
