package parse

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// SourceKinds are the kinds of source a per-source mapping can name.
var SourceKinds = []string{"kafka", "kinesis", "file"}

// ErrSourceMappings wraps every error in a per-source mapping list.
var ErrSourceMappings = errors.New("invalid per-source mapping")

// SourceMappings chooses the mapping of a source: each vendor's feed
// arrives on its own Kafka topic, Kinesis stream or drop folder, and is
// parsed with its own mapping. Keys are "kafka:TOPIC", "kinesis:STREAM"
// and "file:DIR" (DIR cleaned); values are mapping names or files, as
// Options.Mapping takes them.
type SourceMappings map[string]string

// ParseSourceMappings reads a list such as
//
//	kafka:expedia-res=expedia.yaml,kinesis:legacy=ota2001,file:/drop/hs=ota2003
//
// (entries separated by commas or newlines, blank entries ignored). Every
// mapping named is loaded once, so a typo or an invalid mapping file is
// reported at start, naming the entry.
func ParseSourceMappings(spec string) (SourceMappings, error) {
	out := SourceMappings{}
	for _, entry := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '\n' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		source, mapping, ok := strings.Cut(entry, "=")
		kind, name, okKind := strings.Cut(source, ":")
		kind, name, mapping = strings.TrimSpace(kind), strings.TrimSpace(name), strings.TrimSpace(mapping)
		switch {
		case !ok || !okKind || name == "" || mapping == "":
			return nil, fmt.Errorf("%w: %q: want KIND:NAME=MAPPING (KIND one of %s)", ErrSourceMappings, entry, strings.Join(SourceKinds, ", "))
		case !slices.Contains(SourceKinds, kind):
			return nil, fmt.Errorf("%w: %q: unknown source kind %q (known: %s)", ErrSourceMappings, entry, kind, strings.Join(SourceKinds, ", "))
		}
		key := sourceKey(kind, name)
		if prev, dup := out[key]; dup {
			return nil, fmt.Errorf("%w: %s is given twice (%s and %s)", ErrSourceMappings, key, prev, mapping)
		}
		if mapping != AutoMapping {
			if _, err := LoadMapping(mapping); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrSourceMappings, key, err)
			}
		}
		out[key] = mapping
	}
	return out, nil
}

func sourceKey(kind, name string) string {
	if kind == "file" {
		name = filepath.Clean(name)
	}
	return kind + ":" + name
}

// For returns the mapping configured for a source, or false when the list
// does not name it (the caller's default mapping applies).
func (m SourceMappings) For(kind, name string) (string, bool) {
	v, ok := m[sourceKey(kind, name)]
	return v, ok
}

// String lists the entries in key order, in the form ParseSourceMappings
// reads.
func (m SourceMappings) String() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}
