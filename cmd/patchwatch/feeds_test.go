package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/server"
)

// TestFeedsShowFailingUpstreams polls upstreams that fail (Ubuntu's RSS
// answers 503, Red Hat's archive 500, CISA 403), then recover, and reads
// each round's outcome back through `patchwatch feeds`.
func TestFeedsShowFailingUpstreams(t *testing.T) {
	up := newUpstream(t)
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/kev.json":
			http.Error(w, "Access Denied", http.StatusForbidden)
		case !healthy.Load() && (r.URL.Path == "/rss.xml" || strings.HasSuffix(r.URL.Path, ".tar.zst")):
			http.Error(w, "try later", http.StatusServiceUnavailable)
		default:
			up.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	cfgPath := filepath.Join(dir, "patchwatch.yaml")
	cfg := "db: " + db + "\nlog_level: warn\nhttp:\n  attempts: 1\nfeeds:\n" +
		"  usn:\n    feed_url: " + srv.URL + "/rss.xml\n    record_url: " + srv.URL + "/osv/{id}.json\n    backfill_url: \"-\"\n" +
		"  debian:\n    enabled: false\n  almalinux:\n    enabled: false\n  rocky:\n    enabled: false\n" +
		"  kev:\n    url: " + srv.URL + "/kev.json\n" +
		"  rhsa:\n    base_url: " + srv.URL + "/csaf/\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	feeds := func(now time.Time) map[string]server.FeedRow {
		t.Helper()
		r := runAt(t, db, now, "feeds", "--format", "json")
		var rows []server.FeedRow
		if err := json.Unmarshal([]byte(r.stdout), &rows); r.err != nil || err != nil {
			t.Fatalf("feeds: %v %v\n%s", r.err, err, r.stdout)
		}
		out := map[string]server.FeedRow{}
		for _, row := range rows {
			out[row.Feed] = row
		}
		return out
	}

	if r := runAt(t, db, start, "poll", "--once", "--config", cfgPath); r.err == nil {
		t.Fatal("a round with three failing feeds succeeded")
	}
	got := feeds(start.Add(time.Minute))
	for _, feed := range []string{"usn", "rhsa", "kev"} {
		row := got[feed]
		if !row.LastAttempt.Equal(start) || !row.LastSuccess.IsZero() || row.LastError == "" || !row.Stale {
			t.Errorf("%s after a failed first round: %+v", feed, row)
		}
	}
	if !strings.Contains(got["kev"].LastError, "403") || !strings.Contains(got["usn"].LastError, "503") {
		t.Errorf("errors do not say what the upstream answered: kev %q, usn %q", got["kev"].LastError, got["usn"].LastError)
	}
	if got["rhsa"].Backfill != backfillFailed || got["usn"].Backfill != "" {
		t.Errorf("backfill states: rhsa %q, usn %q", got["rhsa"].Backfill, got["usn"].Backfill)
	}
	table := runAt(t, db, start.Add(time.Minute), "feeds")
	if !strings.Contains(table.stdout, "never") || !strings.Contains(table.stdout, "STALE: ") || !strings.Contains(table.stdout, "403") {
		t.Errorf("feeds table:\n%s", table.stdout)
	}

	healthy.Store(true)
	second := start.Add(time.Hour)
	if r := runAt(t, db, second, "poll", "--once", "--config", cfgPath); r.err == nil || !strings.Contains(r.err.Error(), "kev") || strings.Contains(r.err.Error(), "usn") {
		t.Fatalf("second round: %v", r.err)
	}
	got = feeds(second.Add(time.Minute))
	if u := got["usn"]; !u.LastSuccess.Equal(second) || u.LastError != "" || u.Stale || u.Advisories == 0 || u.NewestPublished.IsZero() {
		t.Errorf("usn after recovering: %+v", u)
	}
	if r := got["rhsa"]; r.Backfill != backfillDone || r.Advisories != 3 || r.LastError != "" {
		t.Errorf("rhsa after its backfill: %+v", r)
	}
	if k := got["kev"]; !k.LastSuccess.IsZero() || !k.LastAttempt.Equal(second) || !k.Stale {
		t.Errorf("kev still refused: %+v", k)
	}
}
