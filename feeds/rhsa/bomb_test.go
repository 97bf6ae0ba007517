package rhsa_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/rhsa"
	"github.com/patchwatch/patchwatch/internal/archivegen"
	"github.com/patchwatch/patchwatch/internal/memwatch"
)

// An archive whose one member expands to 1 GiB (a 40 KB tar.zst, as the
// campaign served) is rejected past the 256 MiB document limit without
// being held: the archive is streamed from a file, one member at a time.
func TestArchiveBackfillBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 1 GiB")
	}
	bomb, err := archivegen.Bomb("tar.zst", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/csaf/archive_latest.txt":
			w.Write([]byte("csaf_advisories_2026-11-01.tar.zst\n"))
		case "/csaf/csaf_advisories_2026-11-01.tar.zst":
			w.Write(bomb)
		case "/csaf/changes.csv", "/csaf/deletions.csv":
			w.Write(nil)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	p := rhsa.NewPoller(rhsa.Config{BaseURL: srv.URL + "/csaf/", DownloadDir: t.TempDir()}, feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
	var stats rhsa.Stats
	peak := memwatch.Measure(func() {
		stats, err = p.Poll(context.Background(), nil, rhsa.Sink{Advisories: func(context.Context, []patchwatch.Advisory, []byte) error { return nil }})
	})
	t.Logf("%d-byte bomb: stats %+v, err %v, peak heap %s", len(bomb), stats, err, memwatch.MiB(peak.HeapInuse))
	if stats.Rejected != 1 || stats.Fetched != 0 {
		t.Errorf("stats = %+v, want the bomb rejected", stats)
	}
	if peak.HeapInuse > 64<<20 {
		t.Errorf("peak heap %s", memwatch.MiB(peak.HeapInuse))
	}
}
