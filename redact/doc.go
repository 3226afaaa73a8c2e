// Package redact masks card and secret data in raw XML messages before
// they are kept anywhere (the archive, dead letters), without changing
// anything the extraction reads: Redact.
//
// It knows which element and attribute names are identifiers (phones,
// e-mails, loyalty, reservation and message ids: never masked) from the
// built-in mappings (package parse/mappings), so it sits below both the
// parser and the stores: the archive sink and the pipeline import it
// without importing the parser.
package redact
