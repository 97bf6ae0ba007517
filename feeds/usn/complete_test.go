package usn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/usn"
	"github.com/patchwatch/patchwatch/internal/archivegen"
	"github.com/patchwatch/patchwatch/internal/memwatch"
)

// site publishes like ubuntu.com and its mirrors: an RSS feed of the 10
// newest notices, each notice's OSV record at its record URL, and a bulk
// export (zip) served with ETag, conditional GET and Range.
type site struct {
	mu        sync.Mutex
	published []string          // notice IDs in publication order
	records   map[string][]byte // by ID
	export    []byte
	exportTag string
	exportErr int // status to answer for the export
	frozen    int // when set, the feed shows only the first frozen notices (a stalled feed)
	requests  []string
}

// realRecord is a real notice (USN-8259-1, openexr) renamed: the shape,
// packages and releases are real, only the ID and dates are the test's.
func realRecord(tb testing.TB, id string, published time.Time) []byte {
	tb.Helper()
	var rec map[string]any
	if err := json.Unmarshal(readFile(tb, "USN-8259-1.json"), &rec); err != nil {
		tb.Fatal(err)
	}
	rec["id"] = id
	rec["published"] = published.Format(time.RFC3339)
	rec["modified"] = published.Format(time.RFC3339)
	b, _ := json.Marshal(rec)
	return b
}

func (s *site) publish(tb testing.TB, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		s.records = map[string][]byte{}
	}
	for _, id := range ids {
		s.published = append(s.published, id)
		s.records[id] = realRecord(tb, id, time.Date(2026, 11, 1, 0, 0, len(s.published), 0, time.UTC))
	}
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.Path)
	switch {
	case r.URL.Path == "/rss.xml":
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Ubuntu security notices</title>`)
		shown := s.published
		if s.frozen > 0 {
			shown = shown[:s.frozen]
		}
		for i := len(shown) - 1; i >= 0 && i >= len(shown)-10; i-- {
			id := shown[i]
			fmt.Fprintf(&b, `<item><title>%s: OpenEXR vulnerabilities</title><link>https://ubuntu.com/security/notices/%s</link><guid isPermaLink="false">https://ubuntu.com/security/notices/%s</guid></item>`, id, id, id)
		}
		b.WriteString(`</channel></rss>`)
		w.Write([]byte(b.String()))
	case r.URL.Path == "/all.zip":
		if s.exportErr != 0 {
			w.WriteHeader(s.exportErr)
			return
		}
		w.Header().Set("ETag", s.exportTag)
		http.ServeContent(w, r, "all.zip", time.Time{}, bytes.NewReader(s.export))
	case strings.HasPrefix(r.URL.Path, "/osv/"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/osv/"), ".json")
		rec, ok := s.records[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(rec)
	default:
		http.NotFound(w, r)
	}
}

func (s *site) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return countOf(s.requests, path)
}

func sitePoller(t *testing.T, srv *httptest.Server, now func() time.Time) *usn.Poller {
	t.Helper()
	fetch := feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1})
	return usn.NewPoller(usn.Config{
		FeedURL: srv.URL + "/rss.xml", RecordURL: srv.URL + "/osv/{id}.json", BackfillURL: srv.URL + "/all.zip",
		DownloadDir: t.TempDir(), BatchSize: 2, Now: now,
	}, fetch, nil)
}

// Sixteen notices appear between two polls; the feed shows ten. The six
// behind the window, one of them a follow-up (-2), are stored by number in
// the same round.
func TestPollFillsHolesBehindTheWindow(t *testing.T) {
	s := &site{exportTag: `"export-1"`}
	s.publish(t, "USN-5615-1", "USN-5616-1", "USN-5617-1")
	s.export = zipOf(t, "USN-5614-1.json")
	srv := httptest.NewServer(s)
	defer srv.Close()
	mem := &memory{advisories: map[string]patchwatch.Advisory{}}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	p := sitePoller(t, srv, func() time.Time { return now })
	ctx := context.Background()
	if _, err := p.Poll(ctx, nil, mem.commit); err != nil {
		t.Fatal(err)
	}
	stored := len(mem.advisories)

	var fresh []string
	for n := 5618; n <= 5632; n++ {
		fresh = append(fresh, fmt.Sprintf("USN-%d-1", n))
		if n == 5621 {
			fresh = append(fresh, "USN-5621-2") // a follow-up, behind the window
		}
	}
	s.publish(t, fresh...)
	stats, err := p.Poll(ctx, mem.cursor, mem.commit)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range fresh {
		if _, ok := mem.advisories[id]; !ok {
			t.Errorf("%s not stored", id)
		}
	}
	if a := mem.advisories["USN-5621-2"]; a.ID != "USN-5621-2" || a.Source != patchwatch.SourceUSN {
		t.Errorf("follow-up stored as %+v", a.ID)
	}
	if got := len(mem.advisories) - stored; got != 16 || stats.Fetched != 16 {
		t.Errorf("stored %d new advisories (stats %+v), want 16", got, stats)
	}
	// One more round asks only for the feed and the next three numbers.
	before := len(s.requests)
	if _, err := p.Poll(ctx, mem.cursor, mem.commit); err != nil {
		t.Fatal(err)
	}
	want := []string{"/rss.xml", "/osv/USN-5633-1.json", "/osv/USN-5634-1.json", "/osv/USN-5635-1.json"}
	if extra := s.requests[before:]; !slices.Equal(extra, want) {
		t.Errorf("quiet round asked %v, want %v", extra, want)
	}
}

// The feed stalls (as ubuntu.com's has, for days): the notices published
// since are stored by number, past the feed's newest.
func TestPollStalledFeed(t *testing.T) {
	s := &site{}
	s.publish(t, "USN-7000-1", "USN-7001-1")
	srv := httptest.NewServer(s)
	defer srv.Close()
	mem := &memory{advisories: map[string]patchwatch.Advisory{}}
	p := usn.NewPoller(usn.Config{FeedURL: srv.URL + "/rss.xml", RecordURL: srv.URL + "/osv/{id}.json", BackfillURL: "-"},
		feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
	ctx := context.Background()
	if _, err := p.Poll(ctx, nil, mem.commit); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.frozen = len(s.published)
	s.mu.Unlock()
	// 7003 is a number never used; 7004-2 a follow-up.
	s.publish(t, "USN-7002-1", "USN-7004-1", "USN-7004-2", "USN-7005-1")
	if _, err := p.Poll(ctx, mem.cursor, mem.commit); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"USN-7002-1", "USN-7004-1", "USN-7004-2", "USN-7005-1"} {
		if _, ok := mem.advisories[id]; !ok {
			t.Errorf("%s not stored while the feed stalled", id)
		}
	}
}

// A failed backfill does not stop the live feed, and says which part failed.
func TestPollBackfillFailureKeepsFeed(t *testing.T) {
	s := &site{exportErr: http.StatusForbidden}
	s.publish(t, "USN-8300-1", "USN-8301-1")
	srv := httptest.NewServer(s)
	defer srv.Close()
	mem := &memory{advisories: map[string]patchwatch.Advisory{}}
	p := sitePoller(t, srv, time.Now)
	_, err := p.Poll(context.Background(), nil, mem.commit)
	var part *feeds.PartError
	if !errors.As(err, &part) || part.Part != "backfill" || part.Feed != "usn" || !strings.Contains(err.Error(), "403") {
		t.Fatalf("err = %v, want the backfill part named", err)
	}
	if len(mem.advisories) != 2 {
		t.Fatalf("stored %v, want the feed's notices", keys(mem.advisories))
	}
	var cur usn.Cursor
	json.Unmarshal(mem.cursor, &cur)
	if cur.Backfilled {
		t.Error("backfill marked done")
	}
	// Once the export answers, the next round backfills.
	s.mu.Lock()
	s.exportErr, s.export, s.exportTag = 0, zipOf(t, "USN-5614-1.json", "USN-6000-1.json"), `"e"`
	s.mu.Unlock()
	if _, err := p.Poll(context.Background(), mem.cursor, mem.commit); err != nil {
		t.Fatal(err)
	}
	if _, ok := mem.advisories["USN-6000-1"]; !ok {
		t.Error("backfill not retried")
	}
}

// The daily resync asks for the export conditionally and stores the
// notices modified upstream.
func TestPollResyncPicksUpModifiedNotices(t *testing.T) {
	s := &site{exportTag: `"v1"`, export: zipOf(t, "USN-5614-1.json")}
	s.publish(t, "USN-5615-1")
	srv := httptest.NewServer(s)
	defer srv.Close()
	mem := &memory{advisories: map[string]patchwatch.Advisory{}}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	p := sitePoller(t, srv, func() time.Time { return now })
	ctx := context.Background()
	if _, err := p.Poll(ctx, nil, mem.commit); err != nil {
		t.Fatal(err)
	}
	old := mem.advisories["USN-5614-1"].Modified

	now = now.Add(25 * time.Hour) // due, but unchanged: one 304
	if _, err := p.Poll(ctx, mem.cursor, mem.commit); err != nil {
		t.Fatal(err)
	}
	if n := s.count("/all.zip"); n != 2 {
		t.Fatalf("export asked %d times, want 2", n)
	}
	now = now.Add(time.Hour) // not due again yet
	p.Poll(ctx, mem.cursor, mem.commit)
	if n := s.count("/all.zip"); n != 2 {
		t.Fatalf("export asked %d times before the next resync was due", n)
	}

	// Upstream modifies the notice (a newer version of the record).
	var buf bytes.Buffer
	buf.Write(zipOfNamed(t, map[string]string{"USN-5614-1.json": "USN-5614-1.newer.json"}))
	s.mu.Lock()
	s.export, s.exportTag = buf.Bytes(), `"v2"`
	s.mu.Unlock()
	now = now.Add(24 * time.Hour)
	stats, err := p.Poll(ctx, mem.cursor, mem.commit)
	if err != nil {
		t.Fatal(err)
	}
	if got := mem.advisories["USN-5614-1"].Modified; !got.After(old) || stats.Resynced != 1 {
		t.Errorf("after resync: modified %v (was %v), stats %+v", got, old, stats)
	}
}

// A crash while the export is read resumes after the records committed,
// from the downloaded file, without downloading it again.
func TestPollInterruptedBackfillResumes(t *testing.T) {
	s := &site{exportTag: `"v1"`, export: zipOf(t, "USN-5614-1.json", "USN-6000-1.json", "USN-8259-1.json", "USN-8260-1.json", "USN-8262-1.json")}
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.publish(t, "USN-8263-1")
	mem := &memory{advisories: map[string]patchwatch.Advisory{}}
	p := sitePoller(t, srv, time.Now)
	ctx := context.Background()
	var committed []string
	crash := errors.New("disk full")
	failing := func(ctx context.Context, a []patchwatch.Advisory, cursor []byte) error {
		if mem.commits == 1 { // the second batch fails
			return crash
		}
		for _, x := range a {
			committed = append(committed, x.ID)
		}
		return mem.commit(ctx, a, cursor)
	}
	if _, err := p.Poll(ctx, nil, failing); !errors.Is(err, crash) {
		t.Fatalf("err = %v", err)
	}
	counting := func(ctx context.Context, a []patchwatch.Advisory, cursor []byte) error {
		for _, x := range a {
			committed = append(committed, x.ID)
		}
		return mem.commit(ctx, a, cursor)
	}
	if _, err := p.Poll(ctx, mem.cursor, counting); err != nil {
		t.Fatal(err)
	}
	if n := s.count("/all.zip"); n != 1 {
		t.Errorf("export downloaded %d times, want once", n)
	}
	for _, id := range []string{"USN-5614-1", "USN-6000-1", "USN-8259-1", "USN-8260-1", "USN-8262-1"} {
		if n := countOf(committed, id); n != 1 {
			t.Errorf("%s committed %d times, want once", id, n)
		}
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// A bulk export that is a decompression bomb stops at the limit with an
// error naming the file and the limit, in memory bounded by the member
// limit, and the live feed is still read.
func TestPollExportBomb(t *testing.T) {
	for _, format := range []string{"zip", "tar.zst", "tar.gz"} {
		t.Run(format, func(t *testing.T) {
			bomb, err := archivegen.Bomb(format, 16<<20)
			if err != nil {
				t.Fatal(err)
			}
			s := &site{exportTag: `"bomb"`, export: bomb}
			s.publish(t, "USN-8300-1")
			srv := httptest.NewServer(s)
			defer srv.Close()
			mem := &memory{advisories: map[string]patchwatch.Advisory{}}
			p := usn.NewPoller(usn.Config{
				FeedURL: srv.URL + "/rss.xml", RecordURL: srv.URL + "/osv/{id}.json", BackfillURL: srv.URL + "/all.zip",
				DownloadDir: t.TempDir(), Limits: feeds.Limits{Member: 1 << 20, Total: 4 << 20},
			}, feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
			var pollErr error
			peak := memwatch.Measure(func() { _, pollErr = p.Poll(context.Background(), nil, mem.commit) })
			var part *feeds.PartError
			if format == "zip" {
				// A zip member over its limit is skipped and reported; the
				// export has nothing else, so the backfill completes empty.
				if pollErr != nil {
					t.Fatalf("zip bomb: %v", pollErr)
				}
			} else if !errors.As(pollErr, &part) || part.Part != "backfill" || !errors.Is(pollErr, feeds.ErrLimit) || !strings.Contains(pollErr.Error(), "4194304") {
				t.Fatalf("err = %v, want the backfill stopped at the 4 MiB limit", pollErr)
			}
			if _, ok := mem.advisories["USN-8300-1"]; !ok {
				t.Error("the feed's notice was not stored")
			}
			t.Logf("%s: peak heap %s", format, memwatch.MiB(peak.HeapInuse))
			if peak.HeapInuse > 1<<20+24<<20 {
				t.Errorf("peak heap %s", memwatch.MiB(peak.HeapInuse))
			}
		})
	}
}
