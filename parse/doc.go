// Package parse turns one HTNG / OpenTravel XML message into canonical
// reservation records (package reservation).
//
// What is extracted is data, not code: mapping files (mappings/*.yaml,
// embedded) give the XPath expressions for every field, and a new source
// format is a new mapping file. The rules that combine values (action,
// guest counts, stay dates, totals) are generic and read their inputs from
// the mapping.
//
// Every message is hardened before it is trusted: size and nesting limits,
// no DTD or entity declarations, well-formedness. Card numbers, CVVs, bank
// accounts and WS-Security secrets never reach a record, an error or a log:
// records keep the last four card digits only, errors never quote message
// content, and Redact masks raw messages before they are archived or
// dead-lettered.
//
// A Parser compiles its mappings once; it is safe for concurrent use.
package parse
