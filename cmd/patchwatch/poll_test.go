package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPollOnceThroughCLI runs `patchwatch poll --once` against an HTTP
// server that serves the hand-written RSS fixture and real OSV records.
func TestPollOnceThroughCLI(t *testing.T) {
	rss, err := os.ReadFile("../../feeds/usn/testdata/rss.xml")
	if err != nil {
		t.Fatal(err)
	}
	var recordFetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/rss.xml":
			if r.Header.Get("If-None-Match") == `"1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"1"`)
			w.Write(rss)
		case strings.HasPrefix(r.URL.Path, "/osv/"):
			recordFetches.Add(1)
			http.ServeFile(w, r, "../../samples/usn/"+strings.TrimPrefix(r.URL.Path, "/osv/"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	cfgPath := filepath.Join(dir, "patchwatch.yaml")
	cfg := "db: " + db + "\nlog_level: warn\nhttp:\n  attempts: 1\nfeeds:\n  usn:\n    feed_url: " + srv.URL + "/rss.xml\n    record_url: " + srv.URL + "/osv/{id}.json\n    backfill_url: \"-\"\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 2; round++ {
		if r := run(t, db, "poll", "--once", "--config", cfgPath); r.err != nil {
			t.Fatalf("round %d: %v\n%s", round, r.err, r.stderr)
		}
	}
	if n := recordFetches.Load(); n != 3 {
		t.Errorf("%d record fetches over two rounds, want 3 (the second round gets 304)", n)
	}
	r := run(t, db, "advisory", "USN-8262-1")
	if r.err != nil || !strings.Contains(r.stdout, "ubuntu:16.04  lua5.1 (source)  5.1.5-8ubuntu1+esm1  Ubuntu Pro (esm-infra)") {
		t.Errorf("advisory after poll: %v\n%s", r.err, r.stdout)
	}
}
