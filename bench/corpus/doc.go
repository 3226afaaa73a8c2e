// Package corpus generates realistic, deterministic HTNG reservation
// messages: OTA 2003/05 OTA_HotelResNotifRQ (and OTA_HotelResModifyNotifRQ)
// documents inside a SOAP 1.2 envelope with a WS-Addressing MessageID, as a
// hotel group's central reservation system would send them to its
// properties.
//
// The corpus feeds demos, tests and benchmarks, so the same seed always
// yields byte-identical messages: all randomness comes from one seeded PCG
// (math/rand/v2), message times come from a simulated clock rather than the
// wall clock, and nothing depends on map iteration order.
//
// About 10% of the messages modify and 3% cancel a reservation confirmed by
// an earlier message; every later version carries a later
// LastModifyDateTime and every message a strictly later TimeStamp. Each
// Message also carries Expect, what a correct parser must extract from it,
// so parsers and pipelines can be checked end to end.
//
// The simulated clock starts on 2026-01-05 and advances 1-3 seconds per
// message (about 43,000 messages a simulated day); stays begin up to eleven
// months after booking, so corpora of up to tens of millions of messages
// keep their dates within 2026-2027. Hotels are H00001 upwards; a hotel's
// city, chain and currency depend on its code only, not on the seed.
//
// Personal data in the corpus is synthetic: names come from small embedded
// lists, e-mail addresses use reserved example domains, and the few unmasked
// card numbers are well-known Luhn-valid test numbers.
package corpus
