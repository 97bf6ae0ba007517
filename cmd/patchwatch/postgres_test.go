package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// postgresDSN returns a DSN on a schema of the test's own, from
// $PATCHWATCH_TEST_POSTGRES_DSN; without it the test skips, or fails
// in CI.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PATCHWATCH_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PATCHWATCH_TEST_POSTGRES_DSN is not set; CI must run the PostgreSQL tests")
		}
		t.Skip("no PostgreSQL (set PATCHWATCH_TEST_POSTGRES_DSN to run)")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "pwcmd_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal("connect to the test server")
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if conn, err := pgx.Connect(context.Background(), dsn); err == nil {
			conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(context.Background())
		}
	})
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return dsn + " search_path=" + schema
}

func writePostgresConfig(t *testing.T, dsn string) string {
	t.Helper()
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "patchwatch.yaml")
	cfg := "store:\n  driver: postgres\n  dsn_file: " + dsnFile + "\n  max_conns: 2\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMigratePostgres(t *testing.T) {
	cfg := writePostgresConfig(t, postgresDSN(t))
	r := run(t, filepath.Join(t.TempDir(), "unused.db"), "migrate", "--config", cfg)
	if r.err != nil || !strings.Contains(r.stdout, "postgres: schema version 2") || !strings.Contains(r.stderr, "0002_tokens.sql") {
		t.Fatalf("migrate: %v\nstdout %s\nstderr %s", r.err, r.stdout, r.stderr)
	}
	// Again: nothing to apply.
	r = run(t, "", "migrate", "--config", cfg)
	if r.err != nil || strings.Contains(r.stderr, "schema migrated") {
		t.Fatalf("second migrate: %v\nstderr %s", r.err, r.stderr)
	}
}

// TestPostgresPasswordNotShown: a refused connection names the server,
// never the DSN's password.
func TestPostgresPasswordNotShown(t *testing.T) {
	postgresDSN(t) // skips without a server
	const password = "s3cret-Pa55word"
	cfg := writePostgresConfig(t, "postgres://patchwatch:"+password+"@127.0.0.1:1/patchwatch?connect_timeout=2")
	r := run(t, "", "migrate", "--config", cfg)
	if r.err == nil {
		t.Fatal("migrate against a closed port succeeded")
	}
	if strings.Contains(r.err.Error(), password) || strings.Contains(r.stderr, password) {
		t.Fatalf("the password leaked: %v\n%s", r.err, r.stderr)
	}
}
