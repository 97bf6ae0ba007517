package rhsa_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
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
}

func (s *redHat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := strings.TrimPrefix(r.URL.Path, "/csaf/")
	s.fetched[name]++
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

type store struct {
	advisories map[string]patchwatch.Advisory
	cursor     []byte
}

func (s *store) commit(_ context.Context, a []patchwatch.Advisory, cursor []byte) error {
	for _, x := range a {
		s.advisories[x.ID] = x
	}
	s.cursor = cursor
	return nil
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
	st := &store{advisories: map[string]patchwatch.Advisory{}}
	p := newPoller(srv, "archive")
	ctx := context.Background()

	stats, err := p.Poll(ctx, nil, st.commit)
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
	if _, err := p.Poll(ctx, st.cursor, st.commit); err != nil || up.fetched["2024/rhsa-2024_0811.json"] != before {
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
	st := &store{advisories: map[string]patchwatch.Advisory{}}
	p := rhsa.NewPoller(rhsa.Config{BaseURL: srv.URL + "/csaf/", Backfill: "index", BatchSize: 1},
		feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
	ctx := context.Background()
	if _, err := p.Poll(ctx, nil, st.commit); err == nil || !strings.Contains(err.Error(), "rhsa-2025_23414") {
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
	if _, err := p.Poll(ctx, st.cursor, st.commit); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.advisories["RHSA-2025:23414"]; !ok || up.fetched["2024/rhsa-2024_0811.json"] != 1 {
		t.Errorf("retry: stored %v, 0811 fetched %d times", ok, up.fetched["2024/rhsa-2024_0811.json"])
	}
}

func TestParseChangesRejectsHostilePaths(t *testing.T) {
	for _, data := range []string{
		`"../../etc/passwd","2025-01-01T00:00:00+00:00"`,
		`"2024/rhsa-2024_0010.json","yesterday"`,
		`"2024/rhsa-2024_0010.json"`,
		`"https://evil.example/2024/rhsa-2024_0010.json","2025-01-01T00:00:00+00:00"`,
	} {
		if _, err := rhsa.ParseChanges([]byte(data)); err == nil {
			t.Errorf("accepted %s", data)
		}
	}
	got, err := rhsa.ParseChanges([]byte(`"2024/rhsa-2024_0010.json","2025-02-18T14:28:08+00:00"` + "\n"))
	if err != nil || len(got) != 1 || got[0].Path != "2024/rhsa-2024_0010.json" {
		t.Errorf("ParseChanges = %v, %v", got, err)
	}
}

func FuzzParseChanges(f *testing.F) {
	f.Add([]byte(`"2024/rhsa-2024_0010.json","2025-02-18T14:28:08+00:00"` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		changes, err := rhsa.ParseChanges(data)
		if err != nil {
			return
		}
		for _, c := range changes {
			if strings.Contains(c.Path, "..") || !strings.HasSuffix(c.Path, ".json") {
				t.Fatalf("bad path %q", c.Path)
			}
		}
	})
}
