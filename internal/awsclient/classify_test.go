package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/resingest/resingest/internal/storeerr"
)

func TestClassify(t *testing.T) {
	api := func(code string) error {
		return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &smithy.GenericAPIError{Code: code}}
	}
	tests := []struct {
		name  string
		err   error
		class storeerr.Class
		ok    bool
	}{
		{"access denied", api("AccessDenied"), storeerr.Permission, true},
		{"unrecognized client", api("UnrecognizedClientException"), storeerr.Permission, true},
		{"expired token", api("ExpiredToken"), storeerr.Permission, true},
		{"slow down", api("SlowDown"), storeerr.Throttled, true},
		{"throughput exceeded", api("ProvisionedThroughputExceededException"), storeerr.Throttled, true},
		{"internal error", api("InternalError"), storeerr.Unavailable, true},
		{"s3 kms key disabled", api("KMS.DisabledException"), storeerr.KMS, true},
		{"kms key not found", api("KMSNotFoundException"), storeerr.KMS, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, storeerr.Unavailable, true},
		{"attempt deadline", fmt.Errorf("put: %w", context.DeadlineExceeded), storeerr.Unavailable, true},
		{"already classified", storeerr.New("x", storeerr.Missing, "", errors.New("gone")), storeerr.Missing, true},
		{"validation", api("ValidationException"), "", false},
		{"service-specific missing (the caller's)", api("NoSuchBucket"), "", false},
		{"unknown", errors.New("something"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, ok := Classify(context.Background(), tt.err)
			if class != tt.class || ok != tt.ok {
				t.Errorf("Classify(%v) = %q, %v; want %q, %v", tt.err, class, ok, tt.class, tt.ok)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if class, ok := Classify(ctx, context.Canceled); ok {
		t.Errorf("the caller's own cancellation classified as %q", class)
	}
}
