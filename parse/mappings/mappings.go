// Package mappings holds the built-in extraction mappings, one YAML file
// per mapping (see parse.Mapping for the format). The parser compiles
// them; the redactor reads which element and attribute names they extract
// (identifiers it must leave intact). Data only: no code depends on more
// than the file names and contents.
package mappings

import (
	"embed"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Names returns the built-in mappings' names (file names without
// ".yaml"), sorted.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Read returns the YAML of the built-in mapping name, or an error
// wrapping fs.ErrNotExist.
func Read(name string) ([]byte, error) {
	return files.ReadFile(name + ".yaml")
}
