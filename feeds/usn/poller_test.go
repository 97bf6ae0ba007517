package usn_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/usn"
)

// upstream serves the test data the way ubuntu.com and the OSV mirrors do.
type upstream struct {
	mu          sync.Mutex
	feed        []byte
	failRecords map[string]int // status to answer for a record ID
	backfill    []byte
	requests    []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests = append(u.requests, r.URL.Path)
	switch {
	case r.URL.Path == "/rss.xml":
		if r.Header.Get("If-None-Match") == `"feed-1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"feed-1"`)
		w.Write(u.feed)
	case r.URL.Path == "/all.zip":
		if u.backfill == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write(u.backfill)
	case strings.HasPrefix(r.URL.Path, "/osv/"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/osv/"), ".json")
		if code := u.failRecords[id]; code != 0 {
			w.WriteHeader(code)
			return
		}
		http.ServeFile(w, r, "testdata/"+id+".json")
	default:
		http.NotFound(w, r)
	}
}

func (u *upstream) count(prefix string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, p := range u.requests {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// memory stands in for the store: it keeps what commits hand it.
type memory struct {
	advisories map[string]patchwatch.Advisory
	cursor     []byte
	commits    int
}

func (m *memory) commit(_ context.Context, advisories []patchwatch.Advisory, cursor []byte) error {
	for _, a := range advisories {
		m.advisories[a.ID] = a
	}
	m.cursor = cursor
	m.commits++
	return nil
}

func zipOf(tb testing.TB, names ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(readFile(tb, n))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// zipOfNamed is zipOf with member names apart from the testdata files.
func zipOfNamed(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, file := range files {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(readFile(tb, file))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func newPoller(srv *httptest.Server, backfill bool) *usn.Poller {
	cfg := usn.Config{
		FeedURL:     srv.URL + "/rss.xml",
		RecordURL:   srv.URL + "/osv/{id}.json",
		BackfillURL: "-",
		BatchSize:   1,
	}
	if backfill {
		cfg.BackfillURL = srv.URL + "/all.zip"
	}
	fetch := feeds.NewFetcher(feeds.FetcherOptions{Attempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }})
	return usn.NewPoller(cfg, fetch, nil)
}

func TestPollBackfillThenFeed(t *testing.T) {
	up := &upstream{
		feed:     readFile(t, "rss.xml"),
		backfill: zipOf(t, "USN-5614-1.json", "USN-6000-1.json", "UBUNTU-CVE-2021-3782.json"),
	}
	srv := httptest.NewServer(up)
	defer srv.Close()
	mem := &memory{advisories: map[string]patchwatch.Advisory{}}
	p := newPoller(srv, true)
	ctx := context.Background()

	stats, err := p.Poll(ctx, nil, mem.commit)
	if err != nil {
		t.Fatal(err)
	}
	if len(mem.advisories) != 5 || stats.Fetched != 5 {
		t.Fatalf("stored %d advisories (stats %+v), want 2 from the backfill and 3 from the feed", len(mem.advisories), stats)
	}
	var cur usn.Cursor
	if err := json.Unmarshal(mem.cursor, &cur); err != nil {
		t.Fatal(err)
	}
	if !cur.Backfilled || len(cur.Seen) != 3 || cur.Feed.ETag != `"feed-1"` {
		t.Errorf("cursor = %+v", cur)
	}

	// The second poll gets 304 and fetches nothing, and never backfills again.
	if _, err := p.Poll(ctx, mem.cursor, mem.commit); err != nil {
		t.Fatal(err)
	}
	commits := mem.commits
	// The first poll probed every number from the backfill's newest
	// (USN-6000) to the feed's (USN-8262); the next ask only for the
	// three numbers after the feed's newest.
	records := up.count("/osv/")
	if _, err := p.Poll(ctx, mem.cursor, mem.commit); err != nil {
		t.Fatal(err)
	}
	if up.count("/osv/") != records+3 || up.count("/all.zip") != 1 || mem.commits != commits {
		t.Errorf("third poll: %d record fetches, %d backfills, %d new commits", up.count("/osv/")-records, up.count("/all.zip"), mem.commits-commits)
	}
}

func TestPollFailedRecordKeepsCursor(t *testing.T) {
	up := &upstream{feed: readFile(t, "rss.xml"), failRecords: map[string]int{"USN-8260-1": http.StatusInternalServerError}}
	srv := httptest.NewServer(up)
	defer srv.Close()
	mem := &memory{advisories: map[string]patchwatch.Advisory{}}
	p := newPoller(srv, false)
	ctx := context.Background()

	if _, err := p.Poll(ctx, nil, mem.commit); err == nil || !strings.Contains(err.Error(), "USN-8260-1") {
		t.Fatalf("err = %v, want it to name the failed notice", err)
	}
	if _, ok := mem.advisories["USN-8260-1"]; ok || len(mem.advisories) != 2 {
		t.Fatalf("stored %v", keys(mem.advisories))
	}
	var cur usn.Cursor
	json.Unmarshal(mem.cursor, &cur)
	if cur.Feed.ETag != "" {
		t.Error("feed validators saved despite a failed notice: a 304 would hide it")
	}

	// Once the record is served, the next poll fetches only the missing one.
	up.mu.Lock()
	up.failRecords = nil
	up.mu.Unlock()
	before := up.count("/osv/USN-8260-1")
	if _, err := p.Poll(ctx, mem.cursor, mem.commit); err != nil {
		t.Fatal(err)
	}
	if _, ok := mem.advisories["USN-8260-1"]; !ok {
		t.Fatal("missing notice not fetched on retry")
	}
	if n := up.count("/osv/USN-8260-1") - before; n != 1 {
		t.Errorf("retry fetched USN-8260-1 %d times, want 1", n)
	}
}

func TestPollBadInputKeepsCursor(t *testing.T) {
	tests := []struct {
		name     string
		up       *upstream
		backfill bool
	}{
		{"malformed feed", &upstream{feed: []byte("<rss><channel><item><title>USN-1-1")}, false},
		{"html instead of feed", &upstream{feed: []byte("<html><body>maintenance</body></html>")}, false},
		{"record is not JSON", &upstream{feed: []byte(strings.ReplaceAll(string(readFile(t, "rss.xml")), "USN-8262-1", "USN-0-0"))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.up)
			defer srv.Close()
			mem := &memory{advisories: map[string]patchwatch.Advisory{}}
			start := []byte(`{"backfilled":false,"feed":{},"seen":["USN-1-1"]}`)
			mem.cursor = start
			_, err := newPoller(srv, tt.backfill).Poll(context.Background(), start, mem.commit)
			if err == nil {
				t.Fatal("no error")
			}
			var cur usn.Cursor
			json.Unmarshal(mem.cursor, &cur)
			if cur.Feed.ETag != "" || cur.Backfilled {
				t.Errorf("cursor advanced: %s", mem.cursor)
			}
		})
	}
}

func keys(m map[string]patchwatch.Advisory) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestParseFeed(t *testing.T) {
	ids, err := usn.ParseFeed(readFile(t, "rss.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, " ") != "USN-8262-1 USN-8260-1 USN-8259-1" {
		t.Errorf("ids = %v", ids)
	}
}

func FuzzParseFeed(f *testing.F) {
	f.Add(readFile(f, "rss.xml"))
	f.Add([]byte(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><item><link>USN-1-1</link></item></rdf:RDF>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := usn.ParseFeed(data)
		if err != nil {
			return
		}
		for _, id := range ids {
			if !strings.HasPrefix(id, "USN-") {
				t.Fatalf("bad id %q", id)
			}
		}
	})
}
