//go:build unix

package main

import (
	"io/fs"
	"slices"
	"syscall"
)

// readFileInto reads the file name into buf (reusing its capacity), one
// byte past maxBytes at most, so that an oversized message is reported as
// such without reading all of it. A regular file is read to the size fstat
// gives, in four system calls (open, fstat, read, close) where os.ReadFile
// makes six; errors are the *fs.PathError values os.Open and
// (*os.File).Read return.
func readFileInto(buf []byte, name string, maxBytes int) ([]byte, error) {
	var fd int
	var err error
	for {
		if fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return buf[:0], &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	target := maxBytes + 1 // until EOF or one byte past the limit
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Size < int64(target) {
		target = int(st.Size)
		buf = slices.Grow(buf[:0], target)
	}
	buf = buf[:0]
	for len(buf) < target {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(cap(buf), 4096), target-len(buf)))
		}
		n, err := syscall.Read(fd, buf[len(buf):min(cap(buf), target)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}
