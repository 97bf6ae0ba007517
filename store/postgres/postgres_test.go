package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/postgres"
	"github.com/patchwatch/patchwatch/store/storetest"
)

var (
	_ service.Storage   = (*postgres.Store)(nil)
	_ notify.Store      = (*postgres.Store)(nil)
	_ storetest.Storage = (*postgres.Store)(nil)
)

// dsnVariable names the environment variable with the test server's DSN.
const dsnVariable = "PATCHWATCH_TEST_POSTGRES_DSN"

func TestMain(m *testing.M) {
	if os.Getenv(dsnVariable) == "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "store/postgres: %s is not set; CI must run the PostgreSQL tests (.ci/run starts a server)\n", dsnVariable)
			os.Exit(1)
		}
		fmt.Printf("store/postgres: skipped, no PostgreSQL (set %s to run)\n", dsnVariable)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// withSearchPath returns dsn with its connections' search_path set to
// schema, in either DSN form.
func withSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return dsn + " search_path=" + schema
}

// testDSN creates a schema of the test's own (dropped when it ends), so
// that tests run in parallel on one database, and returns a DSN using it.
func testDSN(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	dsn := os.Getenv(dsnVariable)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "pwtest_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %s", postgres.Redact(err.Error(), dsn))
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("connect: %s", postgres.Redact(err.Error(), dsn))
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	return withSearchPath(dsn, schema)
}

func openTest(t testing.TB) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Options{DSN: testDSN(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the storage contract's suite against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Storage { return openTest(t) })
}
