// Package parse turns one HTNG / OpenTravel XML message into canonical
// reservation records (package reservation).
//
// What is extracted is data, not code: mapping files (parse/mappings,
// embedded) give the XPath expressions for every field, and a new source
// format is a new mapping file. The rules that combine values (action,
// guest counts, stay dates, totals) are generic and read their inputs from
// the mapping.
//
// Every message is hardened before it is trusted: size and nesting limits,
// no DTD or entity declarations, well-formedness. Card numbers, CVVs, bank
// accounts and WS-Security secrets never reach a record, an error or a log:
// records keep the last four card digits only, errors never quote message
// content, and package redact masks raw messages before they are archived or
// dead-lettered.
//
// Two engines extract the same records (Options.Engine). The default, fast,
// scans a message once with a hand-written tokenizer into a flat tape of
// elements, attributes and text (tape.go), and runs each mapping expression
// compiled to a subset of XPath over it (fastxpath.go, fasteval.go). The
// xpath engine builds an xmlquery DOM and runs antchfx/xpath. The fast
// engine hands a whole message to the xpath engine whenever its scanner is
// not sure (DTD, unknown entity, non-UTF-8, any error, a limit), so errors
// always come from the same code; and an expression outside its subset is
// run by antchfx/xpath on a DOM of the same message (Mapping.Fallbacks).
// Both engines feed one source interface, so the rules that combine values
// (extract.go) are shared.
//
// A Parser compiles its mappings once; it is safe for concurrent use.
package parse
