package dsa_test

import (
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
	"github.com/patchwatch/patchwatch/feeds/dsa"
)

// tracker serves the Debian sources; each resource has a version that
// becomes its ETag, so conditional GET works as on the real servers.
type tracker struct {
	mu       sync.Mutex
	files    map[string][]byte
	versions map[string]int
	gets     map[string]int
}

func (s *tracker) set(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
	s.versions[path]++
}

func (s *tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.gets[r.URL.Path]++
	etag := `"` + strings.Repeat("v", s.versions[r.URL.Path]) + `"`
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Write(data)
}

type sink struct {
	advisories map[string]patchwatch.Advisory
	urgencies  []patchwatch.CVEUrgency
	cursor     []byte
}

func (s *sink) Sink() dsa.Sink {
	return dsa.Sink{
		Advisories: func(_ context.Context, a []patchwatch.Advisory, cursor []byte) error {
			for _, x := range a {
				s.advisories[x.ID] = x
			}
			s.cursor = cursor
			return nil
		},
		Urgencies: func(_ context.Context, u []patchwatch.CVEUrgency, cursor []byte) error {
			s.urgencies = u
			s.cursor = cursor
			return nil
		},
	}
}

func TestPollRDFAndLists(t *testing.T) {
	full := readFile(t, "DSA.list")
	// The list lags the RDF feed: DSA-5380-1 (its first entry) is not in it yet.
	lagging := full[bytes.Index(full, []byte("\n[27 Mar 2023]"))+1:]
	up := &tracker{files: map[string][]byte{}, versions: map[string]int{}, gets: map[string]int{}}
	up.set("/dsa.rdf", readFile(t, "dsa.rdf"))
	up.set("/DSA/list", lagging)
	up.set("/DLA/list", readFile(t, "DLA.list"))
	up.set("/tracker.json", readFile(t, "tracker.json"))
	srv := httptest.NewServer(up)
	defer srv.Close()
	fetch := feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1, Sleep: func(context.Context, time.Duration) error { return nil }})
	p := dsa.NewPoller(dsa.Config{
		RDFURL: srv.URL + "/dsa.rdf", DSAListURL: srv.URL + "/DSA/list",
		DLAListURL: srv.URL + "/DLA/list", TrackerURL: srv.URL + "/tracker.json",
	}, fetch, nil)
	got := &sink{advisories: map[string]patchwatch.Advisory{}}
	ctx := context.Background()

	stats, err := p.Poll(ctx, nil, got.Sink())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Advisories != 5382+3530 || len(got.urgencies) != 2 || stats.Rejected != 0 {
		t.Fatalf("first poll: %+v, %d urgencies", stats, len(got.urgencies))
	}
	var cur dsa.Cursor
	json.Unmarshal(got.cursor, &cur)
	if strings.Join(cur.Pending, " ") != "DSA-5380-1" || len(cur.Seen) != 2 {
		t.Fatalf("cursor after a lagging list: %+v", cur)
	}

	// The list catches up: the pending advisory makes the next poll fetch it
	// although the RDF feed answers 304.
	up.set("/DSA/list", full)
	if _, err := p.Poll(ctx, got.cursor, got.Sink()); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.advisories["DSA-5380-1"]; !ok {
		t.Fatal("pending advisory not stored")
	}
	cur = dsa.Cursor{}
	json.Unmarshal(got.cursor, &cur)
	if len(cur.Pending) != 0 || len(cur.Seen) != 3 {
		t.Fatalf("cursor = %+v", cur)
	}

	// Nothing new anywhere: every request is conditional and answered 304.
	gets := up.gets["/DSA/list"]
	stats, err = p.Poll(ctx, got.cursor, got.Sink())
	if err != nil || stats.Advisories != 0 || up.gets["/DSA/list"] != gets {
		t.Fatalf("quiet poll: %+v %v, list fetched %d times", stats, err, up.gets["/DSA/list"]-gets)
	}
}

func TestPollBadListKeepsCursor(t *testing.T) {
	up := &tracker{files: map[string][]byte{}, versions: map[string]int{}, gets: map[string]int{}}
	up.set("/dsa.rdf", readFile(t, "dsa.rdf"))
	up.set("/DSA/list", []byte("<html><body>502 Bad Gateway</body></html>"))
	srv := httptest.NewServer(up)
	defer srv.Close()
	fetch := feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1})
	p := dsa.NewPoller(dsa.Config{RDFURL: srv.URL + "/dsa.rdf", DSAListURL: srv.URL + "/DSA/list", DLAListURL: "-", TrackerURL: "-"}, fetch, nil)
	got := &sink{advisories: map[string]patchwatch.Advisory{}}
	if _, err := p.Poll(context.Background(), nil, got.Sink()); err == nil {
		t.Fatal("an HTML page was taken for a list")
	}
	if got.cursor != nil || len(got.advisories) != 0 {
		t.Errorf("committed %s", got.cursor)
	}
}

func TestParseRDF(t *testing.T) {
	ids, err := dsa.ParseRDF(readFile(t, "dsa.rdf"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, " ") != "DSA-5380-1 DSA-5379-1 DSA-5378-1" {
		t.Errorf("ids = %v", ids)
	}
	if _, err := dsa.ParseRDF([]byte("<rdf:RDF")); err == nil {
		t.Error("truncated RDF accepted")
	}
}

func FuzzParseRDF(f *testing.F) {
	f.Add(readFile(f, "dsa.rdf"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := dsa.ParseRDF(data)
		if err != nil {
			return
		}
		for _, id := range ids {
			if !strings.HasPrefix(id, "DSA-") && !strings.HasPrefix(id, "DLA-") {
				t.Fatalf("bad id %q", id)
			}
		}
	})
}
