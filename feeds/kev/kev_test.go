package kev_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/kev"
)

func catalog(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/known_exploited_vulnerabilities.json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseRealCatalog(t *testing.T) {
	data := catalog(t)
	if !kev.Detect(data) {
		t.Fatal("not detected")
	}
	c, err := kev.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "2025.08.25" || len(c.Entries) != 1404 {
		t.Fatalf("version %s, %d entries", c.Version, len(c.Entries))
	}
	e := c.Entries[0]
	if e.CVE != "CVE-2025-48384" || e.DateAdded != "2025-08-25" || e.DueDate != "2025-09-15" || e.Name != "Git Link Following Vulnerability" {
		t.Errorf("first entry = %+v", e)
	}
}

func TestParseRejects(t *testing.T) {
	for name, data := range map[string]string{
		"not json":      "<html>",
		"no version":    `{"vulnerabilities":[]}`,
		"count differs": `{"catalogVersion":"1","count":2,"vulnerabilities":[{"cveID":"CVE-2020-0001","dateAdded":"2020-01-01"}]}`,
		"bad cve":       `{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-20-1","dateAdded":"2020-01-01"}]}`,
		"bad date":      `{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2020-0001","dateAdded":"yesterday"}]}`,
	} {
		if _, err := kev.Parse([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPoll(t *testing.T) {
	data := catalog(t)
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 3 {
			w.Write([]byte(`{"catalogVersion": "broken"`))
			return
		}
		if r.Header.Get("If-None-Match") == `"k1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"k1"`)
		w.Write(data)
	}))
	defer srv.Close()
	fetch := feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1, Sleep: func(context.Context, time.Duration) error { return nil }})
	p := kev.NewPoller([]string{srv.URL}, fetch, nil)
	var stored kev.Catalog
	var cursor []byte
	commit := func(_ context.Context, c kev.Catalog, cur []byte) error {
		stored, cursor = c, cur
		return nil
	}
	ctx := context.Background()
	if changed, err := p.Poll(ctx, nil, commit); err != nil || !changed || len(stored.Entries) != 1404 {
		t.Fatalf("first poll: %v %v %d", changed, err, len(stored.Entries))
	}
	if changed, err := p.Poll(ctx, cursor, commit); err != nil || changed {
		t.Fatalf("second poll: %v %v", changed, err)
	}
	before := string(cursor)
	// A malformed catalog is refused and the cursor stays.
	if _, err := p.Poll(ctx, []byte(`{}`), commit); err == nil || !strings.Contains(err.Error(), "decode") || !strings.Contains(err.Error(), "every source failed") {
		t.Fatalf("malformed: %v", err)
	}
	if string(cursor) != before {
		t.Error("cursor moved on a failed poll")
	}
	var cur kev.Cursor
	json.Unmarshal(cursor, &cur)
	if cur.Version != "2025.08.25" {
		t.Errorf("cursor = %+v", cur)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(catalog(f)[:2000])
	f.Add([]byte(`{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2020-0001","dateAdded":"2020-01-01"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := kev.Parse(data)
		if err != nil {
			return
		}
		for _, e := range c.Entries {
			if !strings.HasPrefix(e.CVE, "CVE-") {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

// CISA answers 403 to cloud addresses; the GitHub mirror then serves the
// catalog, and the next poll asks the mirror conditionally.
func TestPollFallsBackToMirror(t *testing.T) {
	data := catalog(t)
	var mu sync.Mutex
	var asked []string
	cisa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, "cisa")
		mu.Unlock()
		http.Error(w, "Access Denied", http.StatusForbidden)
	}))
	defer cisa.Close()
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, "mirror "+r.Header.Get("If-None-Match"))
		mu.Unlock()
		if r.Header.Get("If-None-Match") == `"gh1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"gh1"`)
		w.Write(data)
	}))
	defer mirror.Close()
	p := kev.NewPoller([]string{cisa.URL, mirror.URL}, feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
	var cursor []byte
	entries := 0
	commit := func(_ context.Context, c kev.Catalog, cur []byte) error {
		entries, cursor = len(c.Entries), cur
		return nil
	}
	changed, err := p.Poll(context.Background(), nil, commit)
	if err != nil || !changed || entries != 1404 {
		t.Fatalf("poll = %v, %v, %d entries", changed, err, entries)
	}
	var cur kev.Cursor
	json.Unmarshal(cursor, &cur)
	if cur.Source != mirror.URL || cur.Version != "2025.08.25" {
		t.Errorf("cursor = %+v", cur)
	}
	if changed, err := p.Poll(context.Background(), cursor, commit); err != nil || changed {
		t.Fatalf("second poll = %v, %v", changed, err)
	}
	want := []string{"cisa", "mirror ", "cisa", `mirror "gh1"`}
	if strings.Join(asked, ",") != strings.Join(want, ",") {
		t.Errorf("asked %q, want %q", asked, want)
	}
	// Both failing is an error naming both.
	mirror.Close()
	_, err = p.Poll(context.Background(), nil, commit)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), mirror.URL) {
		t.Errorf("both down = %v", err)
	}
}

// A lagging mirror never replaces a newer stored catalog.
func TestPollIgnoresOlderMirror(t *testing.T) {
	data := catalog(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(data) }))
	defer srv.Close()
	p := kev.NewPoller([]string{srv.URL}, feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
	called := false
	changed, err := p.Poll(context.Background(), []byte(`{"version":"2026.01.01"}`), func(context.Context, kev.Catalog, []byte) error {
		called = true
		return nil
	})
	if err != nil || changed || called {
		t.Errorf("older mirror: changed %v, err %v, committed %v", changed, err, called)
	}
}
