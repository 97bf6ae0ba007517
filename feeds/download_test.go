package feeds_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/feeds"
)

// rangeServer serves body like a static file server (ETag, Range,
// If-Range); its first responses are cut after cutAt bytes, by stalling
// (stall) or by closing the connection.
type rangeServer struct {
	body   []byte
	etag   string
	cutAt  int
	cuts   int // how many responses to cut
	stall  bool
	fails  int // 503 answers after the cuts
	mu     sync.Mutex
	ranges []string
}

func (s *rangeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	cut := s.cuts > 0
	s.cuts--
	fail := !cut && s.fails > 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if s.etag != "" {
		w.Header().Set("ETag", s.etag)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == s.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	start := 0
	if rg := r.Header.Get("Range"); rg != "" && s.etag != "" && r.Header.Get("If-Range") == s.etag {
		start, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(s.body)-1, len(s.body)))
		w.Header().Set("Content-Length", strconv.Itoa(len(s.body)-start))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
	}
	rest := s.body[start:]
	if !cut || len(rest) <= s.cutAt {
		w.Write(rest)
		return
	}
	w.Write(rest[:s.cutAt])
	w.(http.Flusher).Flush()
	if s.stall {
		<-r.Context().Done() // until the client's idle timeout gives up
		return
	}
	conn, _, _ := w.(http.Hijacker).Hijack()
	conn.Close()
}

func TestDownloadResumesAfterStall(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	srv := &rangeServer{body: body, etag: `"v1"`, cutAt: 300_000, cuts: 2, stall: true}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	// A 100 ms idle timeout: the stall is what is under test.
	f := newFetcher(feeds.FetcherOptions{Timeout: 100 * time.Millisecond, Attempts: 2}, &noSleep{})
	dest := filepath.Join(t.TempDir(), "archive.zip")
	d, err := f.Download(context.Background(), ts.URL, feeds.Validators{}, dest, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(d.Path)
	if !bytes.Equal(got, body) || d.Size != int64(len(body)) || d.Validators.ETag != `"v1"` {
		t.Fatalf("downloaded %d bytes (%+v), want the %d-byte body", len(got), d, len(body))
	}
	want := []string{"", "bytes=300000-", "bytes=600000-"}
	if fmt.Sprint(srv.ranges) != fmt.Sprint(want) {
		t.Errorf("ranges asked = %q, want %q", srv.ranges, want)
	}
	if err := d.Discard(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) != 0 {
		t.Errorf("files left after Discard: %v", entries)
	}
}

// A download interrupted in one process resumes in the next.
func TestDownloadResumesAcrossCalls(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 500_000)
	srv := &rangeServer{body: body, etag: `"v2"`, cutAt: 200_000, cuts: 1}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "a.tar.zst")
	once := newFetcher(feeds.FetcherOptions{Attempts: 1}, &noSleep{})
	// The body is cut, then the server fails: the call gives up with a
	// partial file, as a process that stopped would leave it.
	srv.fails = 1
	if _, err := once.Download(context.Background(), ts.URL, feeds.Validators{}, dest, 1<<20); err == nil {
		t.Fatal("interrupted download succeeded")
	}
	d, err := once.Download(context.Background(), ts.URL, feeds.Validators{}, dest, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(d.Path); !bytes.Equal(got, body) {
		t.Fatalf("resumed file has %d bytes", len(got))
	}
	if last := srv.ranges[len(srv.ranges)-1]; !strings.HasPrefix(last, "bytes=") || last == "bytes=0-" {
		t.Errorf("second call asked range %q, want a resume", last)
	}
	// Not discarded (the reader crashed): the next call reuses the file.
	n := len(srv.ranges)
	if d2, err := once.Download(context.Background(), ts.URL, feeds.Validators{}, dest, 1<<20); err != nil || d2.Path != dest || len(srv.ranges) != n {
		t.Errorf("reuse = %+v, %v after %d requests", d2, err, len(srv.ranges)-n)
	}
}

// Without validators a resume could splice two versions: start over.
func TestDownloadRestartsWithoutValidators(t *testing.T) {
	body := bytes.Repeat([]byte("y"), 300_000)
	srv := &rangeServer{body: body, cutAt: 100_000, cuts: 1}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	f := newFetcher(feeds.FetcherOptions{Attempts: 2}, &noSleep{})
	d, err := f.Download(context.Background(), ts.URL, feeds.Validators{}, filepath.Join(t.TempDir(), "f"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(d.Path); !bytes.Equal(got, body) {
		t.Fatalf("file has %d bytes", len(got))
	}
	if fmt.Sprint(srv.ranges) != "[ ]" {
		t.Errorf("ranges = %q, want two whole requests", srv.ranges)
	}
}

func TestDownloadLimitsAndConditional(t *testing.T) {
	srv := &rangeServer{body: bytes.Repeat([]byte("z"), 10_000), etag: `"e"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	f := newFetcher(feeds.FetcherOptions{Attempts: 1}, &noSleep{})
	dir := t.TempDir()
	if _, err := f.Download(context.Background(), ts.URL, feeds.Validators{}, filepath.Join(dir, "big"), 5000); !errors.Is(err, feeds.ErrTooLarge) {
		t.Errorf("oversized = %v, want ErrTooLarge", err)
	}
	d, err := f.Download(context.Background(), ts.URL, feeds.Validators{ETag: `"e"`}, filepath.Join(dir, "same"), 1<<20)
	if err != nil || !d.NotModified || d.Path != "" {
		t.Errorf("conditional = %+v, %v, want NotModified", d, err)
	}
}
