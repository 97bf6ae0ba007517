package postgres_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/postgres"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
	"github.com/patchwatch/patchwatch/store/storetest"
)

var (
	_ service.Storage   = (*postgres.Store)(nil)
	_ notify.Store      = (*postgres.Store)(nil)
	_ storetest.Storage = (*postgres.Store)(nil)
)

// TestMain says once, not per test, that the package is skipped.
func TestMain(m *testing.M) {
	if os.Getenv(pgtest.Variable) == "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "store/postgres: %s is not set; CI must run the PostgreSQL tests (.ci/run starts a server)\n", pgtest.Variable)
			os.Exit(1)
		}
		fmt.Printf("store/postgres: skipped, no PostgreSQL (set %s to run)\n", pgtest.Variable)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestConformance runs the storage contract's suite against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Storage { return pgtest.Open(t) })
}
