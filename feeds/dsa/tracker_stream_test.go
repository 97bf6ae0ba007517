package dsa_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/dsa"
	"github.com/patchwatch/patchwatch/internal/memwatch"
)

// TestTrackerStreamed serves a tracker export far larger than the real one
// keeps in memory (the real file is hundreds of MB of JSON) and checks that
// the poller reads it with a heap that does not grow with it: the body is
// saved to a file and decoded one source package at a time.
func TestTrackerStreamed(t *testing.T) {
	packages := 30000 // ≈ 200 MB of JSON
	if testing.Short() || raceEnabled {
		packages = 6000
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tracker.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"1"`)
		bw := bufio.NewWriterSize(w, 1<<16)
		bw.WriteString("{")
		for i := range packages {
			if i > 0 {
				bw.WriteString(",")
			}
			fmt.Fprintf(bw, `"pkg%d":{`, i)
			for c := range 20 {
				if c > 0 {
					bw.WriteString(",")
				}
				urgency := "not yet assigned"
				if c == 0 {
					urgency = "medium"
				}
				fmt.Fprintf(bw, `"CVE-2024-%d":{"description":"%s","scope":"local","releases":{"bookworm":{"status":"resolved","repositories":{"bookworm":"1.0-1"},"fixed_version":"1.0-1","urgency":%q},"trixie":{"status":"open","repositories":{"trixie":"1.0-2"},"urgency":"not yet assigned"}}}`,
					10000+c, "a description of the flaw that is long enough to weigh like the real ones do in the export", urgency)
			}
			bw.WriteString("}")
		}
		bw.WriteString("}")
		bw.Flush()
	}))
	defer srv.Close()
	p := dsa.NewPoller(dsa.Config{RDFURL: srv.URL + "/dsa.rdf", DSAListURL: "-", DLAListURL: "-", TrackerURL: srv.URL + "/tracker.json", DownloadDir: t.TempDir()},
		feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1}), nil)
	var got []patchwatch.CVEUrgency
	sink := dsa.Sink{
		Advisories: func(context.Context, []patchwatch.Advisory, []byte) error { return nil },
		Urgencies: func(_ context.Context, u []patchwatch.CVEUrgency, _ []byte) error {
			got = u
			return nil
		},
	}
	peak := memwatch.Measure(func() {
		// The RDF answers 404: only the tracker part is of interest here.
		p.Poll(context.Background(), nil, sink)
	})
	if len(got) != packages {
		t.Fatalf("%d urgencies, want %d (one leveled CVE per package)", len(got), packages)
	}
	t.Logf("%d packages: peak heap %s, allocated %s", packages, memwatch.MiB(peak.HeapInuse), memwatch.MiB(peak.TotalAlloc))
	if peak.HeapInuse > 64<<20 {
		t.Errorf("peak heap %s: the export is held, not streamed", memwatch.MiB(peak.HeapInuse))
	}
}
