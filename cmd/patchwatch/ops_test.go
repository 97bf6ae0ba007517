package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/store/bolt"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("log_format: json\nfeeds:\n  kev:\n    url: https://mirror:s3cret@mirror.example.org/kev.json\n"), 0o600)
	r := run(t, filepath.Join(dir, "env.db"), "config", "check", good)
	if r.err != nil {
		t.Fatalf("config check: %v", r.err)
	}
	if strings.Contains(r.stdout, "s3cret") || !strings.Contains(r.stdout, "mirror:xxxxx@") || !strings.Contains(r.stdout, "log_format: json") ||
		!strings.Contains(r.stdout, "db: "+filepath.Join(dir, "env.db")) || !strings.Contains(r.stdout, "poll_interval: 1h0m0s") {
		t.Errorf("effective config:\n%s", r.stdout)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("poll_intervall: 1h\n"), 0o600)
	if r := run(t, "x.db", "config", "check", bad); r.err == nil || !strings.Contains(r.err.Error(), "poll_intervall") {
		t.Errorf("bad file: %v", r.err)
	}
	if r := run(t, "x.db", "config", "check", "../../patchwatch.example.yaml"); r.err != nil {
		t.Errorf("the example: %v", r.err)
	}
}

// TestPollHonoursEnvDBWithConfig: with --config that does not set db,
// $PATCHWATCH_DB is where the database goes (the container relies on it).
func TestPollHonoursEnvDBWithConfig(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "from-env.db")
	cfgPath := filepath.Join(dir, "pw.yaml")
	os.WriteFile(cfgPath, []byte("log_level: warn\nfeeds:\n  usn: {enabled: false}\n  debian: {enabled: false}\n  kev: {enabled: false}\n  rhsa: {enabled: false}\n  almalinux: {enabled: false}\n  rocky: {enabled: false}\n"), 0o600)
	cfg, err := loadConfig(&Env{Getenv: func(k string) string {
		if k == "PATCHWATCH_DB" {
			return db
		}
		return ""
	}}, cfgPath, "", false)
	if err != nil || cfg.DB != db {
		t.Errorf("db = %q, %v; want %q", cfg.DB, err, db)
	}
}

func TestJSONLogs(t *testing.T) {
	var errb bytes.Buffer
	cfg := config.Default()
	cfg.LogFormat = "json"
	(&Env{Stderr: &errb}).configLogger(cfg).Info("poll finished", "feed", "usn")
	var line map[string]any
	if err := json.Unmarshal(errb.Bytes(), &line); err != nil || line["msg"] != "poll finished" || line["feed"] != "usn" {
		t.Errorf("json log line %q: %v", errb.String(), err)
	}
}

// TestLockedDatabaseSuggestsServer: while another process (serve) holds
// the database, a local query says so and points to --server.
func TestLockedDatabaseSuggestsServer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	held, err := bolt.Open(db, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r := run(t, db, "hosts")
	if r.err == nil || !errors.Is(r.err, bolt.ErrLocked) || !strings.Contains(r.err.Error(), "--server URL --token-file FILE") {
		t.Errorf("hosts on a held database: %v", r.err)
	}
}

// TestImportPrintsASummary: the Debian DSA list (thousands of records)
// prints one summary line by default, one line per record with --verbose.
func TestImportPrintsASummary(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	r := run(t, db, "import", "../../feeds/dsa/testdata/DSA.list")
	if r.err != nil {
		t.Fatalf("import: %v\n%s", r.err, r.stdout)
	}
	if lines := strings.Count(r.stdout, "\n"); lines != 1 || !strings.HasPrefix(r.stdout, "imported: ") {
		t.Errorf("default import printed %d lines:\n%.500s", lines, r.stdout)
	}
	r = run(t, db, "import", "--verbose", "../../feeds/dsa/testdata/DSA.list")
	if lines := strings.Count(r.stdout, "\n"); r.err != nil || lines < 1000 || !strings.Contains(r.stdout, "unchanged DSA-5380-1 (../../feeds/dsa/testdata/DSA.list)") {
		t.Errorf("--verbose printed %d lines (%v):\n%.300s", lines, r.err, r.stdout)
	}
	if r := run(t, db, "import", "--quiet", "--verbose", "x"); !isExit(r.err, ExitUsage) {
		t.Errorf("--quiet --verbose: %v", r.err)
	}
}
