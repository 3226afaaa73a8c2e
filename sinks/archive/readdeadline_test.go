package archive

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// frozenS3 accepts connections and never answers, as an S3 endpoint whose
// server is stopped (SIGSTOP) or a network path that drops replies.
func frozenS3(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// TestReadsHaveADeadline: reading an archive object or an archived dead
// letter from a frozen S3 fails within the attempt deadline instead of
// hanging `dlq show`, `dlq replay` or a backfill from the archive.
func TestReadsHaveADeadline(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testContext(t), frozenS3(t))
	if err != nil {
		t.Fatal(err)
	}
	const attempt = 300 * time.Millisecond
	s := New(c, Options{Bucket: "frozen", AttemptTimeout: attempt})
	reads := map[string]func(ctx context.Context) error{
		"Read":           func(ctx context.Context) error { _, err := s.Read(ctx, "dt=2024-05-01/x.jsonl.gz"); return err },
		"ReadDeadLetter": func(ctx context.Context) error { _, err := s.ReadDeadLetter(ctx, "dead-letters/x.xml.gz"); return err },
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			began := time.Now()
			err := read(ctx)
			took := time.Since(began)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s from a frozen S3: %v, want the attempt deadline", name, err)
			}
			if took > 10*attempt {
				t.Errorf("%s took %v against a frozen S3, want about the attempt deadline (%v)", name, took, attempt)
			}
		})
	}
}
