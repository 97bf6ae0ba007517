package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

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
	cfg := writePostgresConfig(t, pgtest.DSN(t))
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
	pgtest.ServerDSN(t) // skips without a server
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
