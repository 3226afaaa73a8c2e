package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/resingest/resingest/api"
	"github.com/resingest/resingest/console"
)

func init() { addCommand(newTokenCmd) }

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make credentials for the itinerary API (guest tokens, partner keys) and the operations console (staff tokens)",
	}
	cmd.AddCommand(newTokenGuestCmd(), newTokenPartnerCmd(), newTokenOpsCmd())
	return cmd
}

func newTokenGuestCmd() *cobra.Command {
	var email, secret string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:     "guest --email E [--ttl D]",
		Short:   "Print a guest bearer token (HS256 JWT, subject = the normalised e-mail address)",
		Example: `  RESINGEST_JWT_SECRET=... resingest token guest --email ann@example.com --ttl 1h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The guest is named on the command line only, never by a
			// stray environment variable.
			if err := commandLineOnly(cmd, "ttl"); err != nil {
				return err
			}
			if !cmd.Flags().Changed("email") || email == "" {
				return errors.New("--email is required")
			}
			g, err := api.NewGuestTokens([]byte(secret), nil)
			if err != nil {
				return fmt.Errorf("--jwt-secret: %w", err)
			}
			tok, err := g.Issue(email, ttl)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the guest's e-mail address")
	cmd.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid")
	cmd.Flags().StringVar(&secret, "jwt-secret", "", "HS256 secret, at least 32 bytes (env RESINGEST_JWT_SECRET)")
	return cmd
}

func newTokenPartnerCmd() *cobra.Command {
	var hotels, scopes []string
	var file, name string
	cmd := &cobra.Command{
		Use:   "partner --hotels H1,H2 [--scopes pii] [--partners-file F] [--name N]",
		Short: "Make a partner access key for some hotels, add it to the partners file and print it",
		Long: `partner makes a random access key id and secret for SigV4-signed requests,
limited to --hotels, with --scopes (pii: guests' e-mail addresses, phone
numbers and loyalty numbers unmasked, each access recorded in the audit;
without it they are masked), appends them to --partners-file (created with mode 0600
when missing) and prints them as JSON. A running 'resingest serve' reads the
file at start: restart it to pick the new partner up.`,
		Example: `  resingest token partner --hotels H1,H2 --partners-file partners.json --name acme
  resingest token partner --hotels H1 --scopes pii --partners-file partners.json --name front-desk`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := commandLineOnly(cmd, "name"); err != nil {
				return err
			}
			if !cmd.Flags().Changed("scopes") {
				scopes = nil // a stray RESINGEST_SCOPES must not grant access to personal data
			}
			if !cmd.Flags().Changed("hotels") {
				return errors.New("--hotels is required")
			}
			var list []string
			for _, h := range hotels {
				if h = strings.TrimSpace(h); h != "" {
					list = append(list, h)
				}
			}
			if len(list) == 0 {
				return errors.New("--hotels is required")
			}
			if file == "" {
				return errors.New("--partners-file is required")
			}
			var scopeList []string
			for _, sc := range scopes {
				if sc = strings.TrimSpace(sc); sc != "" {
					scopeList = append(scopeList, sc)
				}
			}
			p, err := api.NewPartnerKey(name, list, scopeList)
			if err != nil {
				return err
			}
			if err := api.AddPartner(file, p); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(p)
		},
	}
	cmd.Flags().StringSliceVar(&hotels, "hotels", nil, "hotel codes the partner may read")
	cmd.Flags().StringVar(&file, "partners-file", "", "partners file to add the key to (env RESINGEST_PARTNERS_FILE)")
	cmd.Flags().StringVar(&name, "name", "", "a label for the partner")
	cmd.Flags().StringSliceVar(&scopes, "scopes", nil, "scopes of the key: pii (contact data unmasked); none: masked")
	return cmd
}

func newTokenOpsCmd() *cobra.Command {
	var subject, role, secret string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "ops --subject S [--role ops|ops-pii] [--ttl D]",
		Short: "Print a staff bearer token for the operations console (HS256 JWT with a role)",
		Long: `ops prints a local staff token for 'resingest console': an HS256 JWT signed
with --jwt-secret (the console's), audience resingest-console, subject the
staff member's id, and one role: ops (guests' personal data masked) or ops-pii
(unmasked; every view recorded in pii_access). For development and
break-glass use; staff normally sign in with the company identity provider's
tokens (console --jwks-url).`,
		Example: `  RESINGEST_JWT_SECRET=... resingest token ops --subject alice --role ops --ttl 8h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := commandLineOnly(cmd, "subject", "role", "ttl"); err != nil {
				return err
			}
			if subject == "" {
				return errors.New("--subject is required (the staff member's id)")
			}
			t, err := console.NewStaffTokens([]byte(secret), nil)
			if err != nil {
				return fmt.Errorf("--jwt-secret: %w", err)
			}
			tok, err := t.Issue(subject, role, ttl)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	cmd.Flags().StringVar(&subject, "subject", "", "the staff member's id (sub claim)")
	cmd.Flags().StringVar(&role, "role", console.RoleOps, "ops (masked) or ops-pii (unmasked, audited)")
	cmd.Flags().DurationVar(&ttl, "ttl", 8*time.Hour, "how long the token is valid")
	cmd.Flags().StringVar(&secret, "jwt-secret", "", "HS256 secret, at least 32 bytes (env RESINGEST_JWT_SECRET)")
	return cmd
}
