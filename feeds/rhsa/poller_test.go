package rhsa_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/rhsa"
)

// redHat serves a CSAF directory: documents from testdata, index files
// written in the format Red Hat documents, and a .tar.zst archive.
type redHat struct {
	mu      sync.Mutex
	files   map[string][]byte
	etags   map[string]string
	fail    map[string]int
	fetched map[string]int
	// stall names documents that never answer: the client's timeout ends
	// the request.
	stall map[string]bool
}

func newRedHat(files map[string][]byte) *redHat {
	return &redHat{files: files, etags: map[string]string{}, fail: map[string]int{}, fetched: map[string]int{}, stall: map[string]bool{}}
}

func (s *redHat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/csaf/")
	s.mu.Lock()
	s.fetched[name]++
	stall := s.stall[name]
	s.mu.Unlock()
	if stall {
		<-r.Context().Done()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := s.fail[name]; code != 0 {
		w.WriteHeader(code)
		return
	}
	data, ok := s.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if etag := s.etags[name]; etag != "" {
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
	}
	w.Write(data)
}

func tarZst(t *testing.T, names ...string) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, n := range names {
		data := readFile(t, n)
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tw.Close()
	var out bytes.Buffer
	zw, _ := zstd.NewWriter(&out)
	zw.Write(tb.Bytes())
	zw.Close()
	return out.Bytes()
}

// store keeps what the poller commits, as the real store does: the
// advisories and the cursor of each commit together.
type store struct {
	advisories map[string]patchwatch.Advisory
	cursor     []byte
	withdrawn  [][]rhsa.Deletion
	// failAfter, when positive, makes the commit after that many succeed
	// fail, as a crash between two batches would.
	failAfter int
	commits   int
}

func newStore() *store { return &store{advisories: map[string]patchwatch.Advisory{}} }

func (s *store) commit(_ context.Context, a []patchwatch.Advisory, cursor []byte) error {
	s.commits++
	if s.failAfter > 0 && s.commits > s.failAfter {
		return errors.New("simulated crash")
	}
	for _, x := range a {
		s.advisories[x.ID] = x
	}
	s.cursor = cursor
	return nil
}

func (s *store) withdraw(_ context.Context, deletions []rhsa.Deletion, cursor []byte) error {
	for _, d := range deletions {
		delete(s.advisories, d.ID)
	}
	s.withdrawn = append(s.withdrawn, deletions)
	s.cursor = cursor
	return nil
}

func (s *store) sink() rhsa.Sink { return rhsa.Sink{Advisories: s.commit, Withdraw: s.withdraw} }

func (s *store) decodeCursor(t *testing.T) rhsa.Cursor {
	t.Helper()
	var cur rhsa.Cursor
	if err := json.Unmarshal(s.cursor, &cur); err != nil {
		t.Fatal(err)
	}
	return cur
}

func newPoller(srv *httptest.Server, backfill string) *rhsa.Poller {
	fetch := feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1, Sleep: func(context.Context, time.Duration) error { return nil }})
	return rhsa.NewPoller(rhsa.Config{BaseURL: srv.URL + "/csaf/", Backfill: backfill, BatchSize: 2}, fetch, nil)
}

func TestPollArchiveThenChanges(t *testing.T) {
	up := &redHat{files: map[string][]byte{
		"archive_latest.txt":                 []byte("csaf_advisories_2024-08-11.tar.zst\n"),
		"csaf_advisories_2024-08-11.tar.zst": tarZst(t, "2023/rhsa-2023_7434.json", "2023/rhsa-2023_7436.json", "2023/rhsa-2023_7438.json"),
		"2024/rhsa-2024_0811.json":           readFile(t, "2024/rhsa-2024_0811.json"),
		"2025/rhsa-2025_23414.json":          readFile(t, "2025/rhsa-2025_23414.json"),
		"2023/rhsa-2023_7436.json":           readFile(t, "2023/rhsa-2023_7436.json"),
		"changes.csv": []byte(`"2025/rhsa-2025_23414.json","2025-12-18T10:00:00+00:00"` + "\n" +
			`"2024/rhsa-2024_0811.json","2025-09-10T15:12:09+00:00"` + "\n" +
			`"2023/rhsa-2023_7436.json","2024-04-28T00:00:00+00:00"` + "\n"),
	}, etags: map[string]string{"changes.csv": `"c1"`}, fail: map[string]int{}, fetched: map[string]int{}}
	srv := httptest.NewServer(up)
	defer srv.Close()
	st := newStore()
	p := newPoller(srv, "archive")
	ctx := context.Background()

	stats, err := p.Poll(ctx, nil, st.sink())
	if err != nil {
		t.Fatal(err)
	}
	// 7434 and 7436 from the archive (7438 is OpenStack only), then the two
	// documents changed after the archive's day; 7436's change is older.
	for _, id := range []string{"RHSA-2023:7434", "RHSA-2023:7436", "RHSA-2024:0811", "RHSA-2025:23414"} {
		if _, ok := st.advisories[id]; !ok {
			t.Errorf("%s missing (stats %+v)", id, stats)
		}
	}
	if up.fetched["2023/rhsa-2023_7436.json"] != 0 {
		t.Error("a change older than the archive was fetched again")
	}
	var cur rhsa.Cursor
	json.Unmarshal(st.cursor, &cur)
	if !cur.Backfilled || !cur.Since.Equal(time.Date(2025, 12, 18, 10, 0, 0, 0, time.UTC)) || cur.Changes.ETag != `"c1"` {
		t.Fatalf("cursor = %+v", cur)
	}
	// Next round: changes.csv answers 304 and nothing is fetched.
	before := up.fetched["2024/rhsa-2024_0811.json"]
	if _, err := p.Poll(ctx, st.cursor, st.sink()); err != nil || up.fetched["2024/rhsa-2024_0811.json"] != before {
		t.Fatalf("quiet poll: %v", err)
	}
}

func TestPollFailedDocumentKeepsCursor(t *testing.T) {
	up := &redHat{files: map[string][]byte{
		"index.txt":                 []byte("2024/rhsa-2024_0010.json\n"),
		"2024/rhsa-2024_0010.json":  readFile(t, "2024/rhsa-2024_0010.json"),
		"2024/rhsa-2024_0811.json":  readFile(t, "2024/rhsa-2024_0811.json"),
		"2025/rhsa-2025_23414.json": readFile(t, "2025/rhsa-2025_23414.json"),
	}, etags: map[string]string{}, fail: map[string]int{"2025/rhsa-2025_23414.json": 503}, fetched: map[string]int{}}
	future := time.Now().UTC().Add(time.Hour)
	up.files["changes.csv"] = []byte(`"2024/rhsa-2024_0811.json","` + future.Format(time.RFC3339) + `"` + "\n" +
		`"2025/rhsa-2025_23414.json","` + future.Add(time.Minute).Format(time.RFC3339) + `"` + "\n")
	srv := httptest.NewServer(up)
	defer srv.Close()
	st := newStore()
	p := rhsa.NewPoller(rhsa.Config{BaseURL: srv.URL + "/csaf/", Backfill: "index", BatchSize: 1},
		feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
	ctx := context.Background()
	if _, err := p.Poll(ctx, nil, st.sink()); err == nil || !strings.Contains(err.Error(), "rhsa-2025_23414") {
		t.Fatalf("err = %v", err)
	}
	var cur rhsa.Cursor
	json.Unmarshal(st.cursor, &cur)
	if !cur.Since.Equal(future.Truncate(time.Second)) || cur.Changes.ETag != "" {
		t.Fatalf("cursor = %+v, want it after 0811 and before 23414", cur)
	}
	if _, ok := st.advisories["RHSA-2024:0010"]; !ok {
		t.Error("index backfill did not store RHSA-2024:0010")
	}
	up.mu.Lock()
	up.fail = map[string]int{}
	up.mu.Unlock()
	if _, err := p.Poll(ctx, st.cursor, st.sink()); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.advisories["RHSA-2025:23414"]; !ok || up.fetched["2024/rhsa-2024_0811.json"] != 1 {
		t.Errorf("retry: stored %v, 0811 fetched %d times", ok, up.fetched["2024/rhsa-2024_0811.json"])
	}
}
