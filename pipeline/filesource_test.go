package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/resingest/resingest/pipeline"
	"github.com/resingest/resingest/pipeline/sourcetest"
)

// TestFileSourceContract runs the source contract over a folder.
func TestFileSourceContract(t *testing.T) {
	t.Parallel()
	sourcetest.Run(t, func(t *testing.T, msgs [][]byte) sourcetest.Open {
		dir := filepath.Join(t.TempDir(), "in")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%03d.xml", i)), m, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return func(t *testing.T, batch int) pipeline.Source {
			src, err := pipeline.NewFileSource(dir, batch, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			return src
		}
	})
}
