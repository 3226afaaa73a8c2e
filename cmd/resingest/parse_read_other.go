//go:build !unix

package main

import (
	"io"
	"os"
)

// readFileInto reads the file name, one byte past maxBytes at most, so that
// an oversized message is reported as such without reading all of it.
func readFileInto(buf []byte, name string, maxBytes int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(maxBytes)+1))
}
