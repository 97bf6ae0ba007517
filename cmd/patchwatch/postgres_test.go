package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/postgres"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

func writePostgresConfig(t testing.TB, dsn string) string {
	t.Helper()
	return writePostgresConfigWith(t, dsn, "")
}

// writePostgresConfigWith writes a config selecting the PostgreSQL store
// at dsn, followed by extra YAML.
func writePostgresConfigWith(t testing.TB, dsn, extra string) string {
	t.Helper()
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "patchwatch.yaml")
	cfg := "store:\n  driver: postgres\n  dsn_file: " + dsnFile + "\n  max_conns: 2\n" + extra
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMigratePostgres(t *testing.T) {
	cfg := writePostgresConfig(t, pgtest.DSN(t))
	r := run(t, filepath.Join(t.TempDir(), "unused.db"), "migrate", "--config", cfg)
	if r.err != nil || !strings.Contains(r.stdout, fmt.Sprintf("postgres: schema version %d", postgres.SchemaVersion())) || !strings.Contains(r.stderr, "0002_tokens.sql") {
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

// TestQueriesOnPostgres: the query commands read a PostgreSQL store that
// another process (here, a store of the test's own) keeps writing.
func TestQueriesOnPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	cfg := writePostgresConfig(t, dsn)
	st := pgtest.OpenDSN(t, dsn) // the "serve" writing meanwhile
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	svc := service.New(st, patchwatch.DefaultUrgencyRules(), func() time.Time { return now })
	adv := patchwatch.Advisory{ID: "USN-7000-1", Source: patchwatch.SourceUSN, Title: "zlib vulnerability", Severity: patchwatch.SeverityHigh, Published: now, Modified: now,
		Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: "zlib", Kind: patchwatch.KindSource, FixedVersion: "1:1.2.11.dfsg-2ubuntu9.2"}}}
	if _, err := st.UpsertAdvisories(ctx, []patchwatch.Advisory{adv}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web1", "web2"} {
		h := patchwatch.Host{Name: name, Owner: "alice@example.org", Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: now,
			Packages: []patchwatch.Package{{Name: "zlib1g", Version: "1:1.2.11.dfsg-2ubuntu9", SourceName: "zlib", SourceVersion: "1:1.2.11.dfsg-2ubuntu9"}}}
		if _, err := svc.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, "", "hosts", "--config", cfg, "--format", "json")
	if r.err != nil || !strings.Contains(r.stdout, `"web1"`) || !strings.Contains(r.stdout, `"web2"`) {
		t.Fatalf("hosts: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = run(t, "", "outstanding", "--config", cfg, "--host", "web2")
	if r.err != nil || !strings.Contains(r.stdout, "USN-7000-1") {
		t.Fatalf("outstanding: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = run(t, "", "advisory", "USN-7000-1", "--config", cfg)
	if r.err != nil || !strings.Contains(r.stdout, "web1") {
		t.Fatalf("advisory: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
}
