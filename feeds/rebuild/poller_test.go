package rebuild_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/rebuild"
	"github.com/patchwatch/patchwatch/internal/archivegen"
	"github.com/patchwatch/patchwatch/internal/memwatch"
)

// zipDir zips the records of testdata/dir, as OSV.dev's all.zip holds them.
func zipDir(t *testing.T, dir string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if dir == "almalinux8" || dir == "almalinux9" {
		// The records both releases publish are kept once, in almalinux-both/.
		both, _ := filepath.Glob("testdata/almalinux-both/*.json")
		files = append(files, both...)
	}
	for _, f := range files {
		w, _ := zw.Create(filepath.Base(f))
		w.Write(readFile(t, strings.TrimPrefix(filepath.ToSlash(f), "testdata/")))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestPollArchive(t *testing.T) {
	buf := zipDir(t, "almalinux9")
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets++
		if r.URL.Path == "/broken.zip" {
			w.Write([]byte("PK\x03\x04 not really"))
			return
		}
		if r.Header.Get("If-None-Match") == `"z1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"z1"`)
		w.Write(buf.Bytes())
	}))
	defer srv.Close()
	fetch := feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1})
	stored := map[string]bool{}
	var cursor []byte
	commit := func(_ context.Context, a []patchwatch.Advisory, c []byte) error {
		for _, x := range a {
			stored[x.ID] = true
		}
		cursor = c
		return nil
	}
	p := rebuild.NewPoller(rebuild.Config{Name: "alsa", URL: srv.URL + "/all.zip", DownloadDir: t.TempDir()}, fetch, nil)
	stats, err := p.Poll(context.Background(), nil, commit)
	if err != nil || stats.Advisories == 0 || len(stored) != stats.Advisories {
		t.Fatalf("first poll: %+v %v (%d stored)", stats, err, len(stored))
	}
	if stats, err := p.Poll(context.Background(), cursor, commit); err != nil || stats.Advisories != 0 {
		t.Fatalf("second poll: %+v %v", stats, err)
	}
	cursor = nil
	if _, err := rebuild.NewPoller(rebuild.Config{Name: "alsa", URL: srv.URL + "/broken.zip", DownloadDir: t.TempDir()}, fetch, nil).Poll(context.Background(), nil, commit); err == nil || cursor != nil {
		t.Fatalf("broken archive: %v, cursor %s", err, cursor)
	}
}

// A read that fails half-way resumes after what it committed, from the
// downloaded file, without a second download.
func TestPollInterruptedResumes(t *testing.T) {
	buf := zipDir(t, "almalinux10")
	files, _ := filepath.Glob("testdata/almalinux10/*.json")
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets++
		w.Header().Set("ETag", `"a10"`)
		w.Write(buf.Bytes())
	}))
	defer srv.Close()
	p := rebuild.NewPoller(rebuild.Config{Name: "alsa", URL: srv.URL, DownloadDir: t.TempDir(), BatchSize: 1}, feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
	commits := map[string]int{}
	var cursor []byte
	fail := true
	commit := func(_ context.Context, a []patchwatch.Advisory, c []byte) error {
		if len(commits) == 1 && fail {
			fail = false
			return errors.New("disk full")
		}
		for _, x := range a {
			commits[x.ID]++
		}
		cursor = c
		return nil
	}
	if _, err := p.Poll(context.Background(), nil, commit); err == nil {
		t.Fatal("no error from the failed commit")
	}
	if _, err := p.Poll(context.Background(), cursor, commit); err != nil {
		t.Fatal(err)
	}
	if gets != 1 || len(commits) != len(files) {
		t.Fatalf("%d downloads, %d advisories stored of %d", gets, len(commits), len(files))
	}
	for id, n := range commits {
		if n != 1 {
			t.Errorf("%s committed %d times", id, n)
		}
	}
}

// An archive that is a decompression bomb stops at the limit, naming it,
// in memory bounded by the member limit; the cursor does not move.
func TestPollArchiveBomb(t *testing.T) {
	for _, format := range []string{"zip", "tar.zst", "tar.bz2"} {
		t.Run(format, func(t *testing.T) {
			bomb, err := archivegen.Bomb(format, 16<<20)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(bomb) }))
			defer srv.Close()
			p := rebuild.NewPoller(rebuild.Config{Name: "rlsa", URL: srv.URL, DownloadDir: t.TempDir(), Limits: feeds.Limits{Member: 1 << 20, Total: 4 << 20}},
				feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
			committed := false
			var pollErr error
			peak := memwatch.Measure(func() {
				_, pollErr = p.Poll(context.Background(), nil, func(context.Context, []patchwatch.Advisory, []byte) error {
					committed = true
					return nil
				})
			})
			if pollErr == nil || committed {
				t.Fatalf("bomb: err %v, committed %v", pollErr, committed)
			}
			if format != "zip" && !errors.Is(pollErr, feeds.ErrLimit) {
				t.Errorf("err = %v, want the total limit", pollErr)
			}
			t.Logf("%s: %v; peak heap %s", format, pollErr, memwatch.MiB(peak.HeapInuse))
			if peak.HeapInuse > 1<<20+24<<20 {
				t.Errorf("peak heap %s", memwatch.MiB(peak.HeapInuse))
			}
		})
	}
}
