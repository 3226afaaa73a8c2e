package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envAliases names the environment variable of flags whose variable is not
// simply RESINGEST_<FLAG> (shared connection settings).
var envAliases = map[string]string{
	"brokers": "RESINGEST_KAFKA_BROKERS",
}

// envName returns the environment variable that sets a flag.
func envName(flag string) string {
	if alias, ok := envAliases[flag]; ok {
		return alias
	}
	return "RESINGEST_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag of cmd that was not given on the command line
// from its environment variable, so that flags > environment > defaults.
func applyEnv(cmd *cobra.Command) error {
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok || v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", envName(f.Name), err))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("invalid environment: %s", strings.Join(errs, "; "))
	}
	return nil
}
