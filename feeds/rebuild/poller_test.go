package rebuild_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/rebuild"
)

func TestPollArchive(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Every EL9 record: those of almalinux9/ and those of almalinux-both/.
	files, _ := filepath.Glob("testdata/almalinux9/*.json")
	both, _ := filepath.Glob("testdata/almalinux-both/*.json")
	files = append(files, both...)
	for _, f := range files {
		w, _ := zw.Create(filepath.Base(f))
		w.Write(readFile(t, strings.TrimPrefix(f, "testdata/")))
	}
	zw.Close()
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
	p := rebuild.NewPoller("alsa", srv.URL+"/all.zip", 0, fetch, nil)
	stats, err := p.Poll(context.Background(), nil, commit)
	if err != nil || stats.Advisories == 0 || len(stored) != stats.Advisories {
		t.Fatalf("first poll: %+v %v (%d stored)", stats, err, len(stored))
	}
	if stats, err := p.Poll(context.Background(), cursor, commit); err != nil || stats.Advisories != 0 {
		t.Fatalf("second poll: %+v %v", stats, err)
	}
	cursor = nil
	if _, err := rebuild.NewPoller("alsa", srv.URL+"/broken.zip", 0, fetch, nil).Poll(context.Background(), nil, commit); err == nil || cursor != nil {
		t.Fatalf("broken archive: %v, cursor %s", err, cursor)
	}
}
