package pii

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/resingest/resingest/internal/storeerr"
)

func TestKMSErrorIsAStoreFailure(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code} }
	tests := []struct {
		code  string
		class storeerr.Class
	}{
		{"ThrottlingException", storeerr.Throttled},
		{"KMSInternalException", storeerr.Unavailable},
		{"AccessDeniedException", storeerr.Permission},
		{"DisabledException", storeerr.KMS},
		{"NotFoundException", storeerr.KMS},
		{"KMSInvalidStateException", storeerr.KMS},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := kmsError(context.Background(), "alias/pii", api(tt.code))
			se, ok := storeerr.As(err)
			if !ok || se.Class != tt.class || se.Store != "kms" {
				t.Fatalf("kmsError(%s) = %v; want a kms store error of class %s", tt.code, err, tt.class)
			}
			if !errors.Is(err, err.(*storeerr.Error).Err) {
				t.Error("the cause is lost")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := storeerr.As(kmsError(ctx, "k", context.Canceled)); ok {
		t.Error("the caller's cancellation became a store error")
	}
}
