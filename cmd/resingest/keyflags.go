package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/spf13/cobra"

	"github.com/resingest/resingest/internal/awsclient"
	"github.com/resingest/resingest/pii"
)

// keyFlags select the key-encryption key that unwraps the PII data keys;
// shared by every command that writes or reads guest data.
type keyFlags struct {
	kekFile     string
	kmsKeyID    string
	kmsEndpoint string
}

func (f *keyFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kekFile, "kek-file", "", "local key-encryption key file (development; `resingest keys init --kek-file F` creates it): guest PII is encrypted in every store")
	fl.StringVar(&f.kmsKeyID, "kms-key-id", "", "AWS KMS key (id, ARN or alias) wrapping the PII data keys (production); exclusive with --kek-file")
	fl.StringVar(&f.kmsEndpoint, "kms-endpoint", "", "KMS endpoint URL; empty: AWS's")
}

// enabled reports whether a KEK is configured.
func (f *keyFlags) enabled() bool { return f.kekFile != "" || f.kmsKeyID != "" }

func (f *keyFlags) validate() error {
	if f.kekFile != "" && f.kmsKeyID != "" {
		return errors.New("--kek-file and --kms-key-id are exclusive: pick the one that wrapped the keys")
	}
	return nil
}

// kek opens the configured key-encryption key.
func (f *keyFlags) kek(ctx context.Context) (pii.KEK, error) {
	switch {
	case f.kekFile != "":
		return pii.LoadLocalKEK(f.kekFile)
	case f.kmsKeyID != "":
		cfg, err := awsclient.Config(ctx, f.kmsEndpoint)
		if err != nil {
			return nil, fmt.Errorf("kms: %w", err)
		}
		client := kms.NewFromConfig(cfg, func(o *kms.Options) {
			if f.kmsEndpoint != "" {
				o.BaseEndpoint = aws.String(f.kmsEndpoint)
			}
		})
		return pii.NewKMSKEK(client, f.kmsKeyID), nil
	}
	return nil, errors.New("no key-encryption key: set --kek-file or --kms-key-id")
}

// keyring loads the PII keyring from store, or returns nil (plain PII,
// with a warning) when no KEK is configured.
func (f *keyFlags) keyring(ctx context.Context, store pii.KeyStore, log *slog.Logger) (*pii.Keyring, error) {
	if !f.enabled() {
		log.Warn("guest PII is stored and read unencrypted: set --kek-file or --kms-key-id")
		return nil, nil
	}
	kek, err := f.kek(ctx)
	if err != nil {
		return nil, err
	}
	return pii.Load(ctx, store, kek)
}
