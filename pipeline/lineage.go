package pipeline

import (
	"github.com/resingest/resingest/ledger"
	"github.com/resingest/resingest/sinks"
)

// Lineage (the console's "what happened to this reservation"): every
// audit row carries its message's records, what became of each and where
// the archive keeps the raw message; the ledger stores them beside the
// row (sinks/postgres audit_records) and the release of a held record
// gives it its hotel and outcome there (FinishPending).

// lineage is message msg's records for its audit row: those the stores
// took (byMsg[msg] indexes recs), each with its best store outcome
// ("resolved" when the message's unkeyed records got their hotel from key
// resolution), then those it holds. outcome is the message's, for a record
// no store judged (no stores configured).
func lineage(it *parsed, recs []sinks.Record, recBest []sinks.Outcome, mine []int, outcome Outcome) []ledger.AuditRecord {
	if len(mine)+len(it.heldRecs) == 0 {
		return nil
	}
	out := make([]ledger.AuditRecord, 0, len(mine)+len(it.heldRecs))
	for k, j := range mine {
		o := string(outcome)
		if b := recBest[j]; b != sinks.Failed {
			o = b.String()
			if b == sinks.Stored && it.resolved {
				o = string(OutcomeResolved)
			}
		}
		out = append(out, auditRecord(&recs[j], k, o, it.mapping))
	}
	for n := range it.heldRecs {
		out = append(out, auditRecord(&it.heldRecs[n], n, string(OutcomeHeld), it.mapping))
	}
	return out
}

func auditRecord(r *sinks.Record, ordinal int, outcome, mapping string) ledger.AuditRecord {
	return ledger.AuditRecord{
		Ordinal: ordinal, HotelCode: r.Reservation.HotelCode, Confirmation: r.Reservation.Confirmation,
		Version: r.Version.String(), Action: r.Reservation.Action, MessageType: r.Reservation.MessageType,
		ArchiveKey: r.ArchiveKey, Outcome: outcome, Mapping: mapping,
	}
}
