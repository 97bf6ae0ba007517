// Package pgtest gives tests and benchmarks a PostgreSQL schema of their
// own on the server named by $PATCHWATCH_TEST_POSTGRES_DSN (.ci/run starts
// one), so that they run in parallel on one database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch/store/postgres"
)

// Variable names the environment variable with the test server's DSN.
const Variable = "PATCHWATCH_TEST_POSTGRES_DSN"

// ServerDSN returns the test server's DSN. Without one, tb skips with one
// line; in CI (CI=true) that is a failure, never a skip.
func ServerDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(Variable)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set: CI must run the PostgreSQL tests (.ci/run starts a server)", Variable)
		}
		tb.Skipf("no PostgreSQL: set %s to run", Variable)
	}
	return dsn
}

// DSN creates a schema for tb alone, dropped when it ends, and returns a
// DSN whose connections use it.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := ServerDSN(tb)
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "pwtest_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect to the test server: %s", postgres.Redact(err.Error(), dsn))
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			tb.Errorf("connect to the test server: %s", postgres.Redact(err.Error(), dsn))
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(dsn, schema)
}

// WithSearchPath returns dsn with its connections' search_path set to
// schema, in either DSN form (URL or key=value).
func WithSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return dsn + " search_path=" + schema
}

// Open opens a store on a fresh schema, closed when tb ends.
func Open(tb testing.TB) *postgres.Store {
	tb.Helper()
	return OpenDSN(tb, DSN(tb))
}

// OpenDSN opens a store on dsn, closed when tb ends.
func OpenDSN(tb testing.TB, dsn string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
