package rhsa_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/feeds/rhsa"
)

// redHatSizedChanges writes a changes.csv of n rows in Red Hat's layout:
// every document ever published, newest change first, many sharing a
// second (Red Hat regenerates documents in bulk).
func redHatSizedChanges(n int) []byte {
	var b strings.Builder
	start := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	kinds := []string{"rhsa", "rhba", "rhea"}
	for i := range n {
		year := 2010 + i%17
		fmt.Fprintf(&b, "\"%d/%s-%d_%04d.json\",\"%s\"\n", year, kinds[i%3], year, i, start.Add(-time.Duration(i/20)*time.Second).Format(time.RFC3339))
	}
	return []byte(b.String())
}

// BenchmarkParseChanges reads a changes.csv the size of Red Hat's
// (~30,000 rows, 2.3 MB).
func BenchmarkParseChanges(b *testing.B) {
	data := redHatSizedChanges(30000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if changes, skipped := rhsa.ParseChanges(data); len(changes) != 30000 || skipped.Rows != 0 {
			b.Fatal(len(changes), skipped)
		}
	}
}

// BenchmarkQuietRound is the round a poller runs every interval once it
// is current: a Red Hat-sized changes.csv with nothing past the cursor,
// through the same Poll as `serve` (HTTP included), and an unchanged
// deletions.csv.
func BenchmarkQuietRound(b *testing.B) {
	up := newRedHat(map[string][]byte{"changes.csv": redHatSizedChanges(30000), "deletions.csv": []byte(`"2024/rhsa-2024_2030.json","2024-04-26T14:35:15+00:00"` + "\n")})
	up.etags["deletions.csv"] = `"d"`
	srv := httptest.NewServer(up)
	defer srv.Close()
	p := indexPoller(srv, 200, 0, nil)
	st := newStore()
	cursor := []byte(`{"backfilled":true,"changes":{},"since":"2026-11-30T00:00:00Z","since_path":"2026/rhea-2026_9999.json","deletions":{"etag":"\"d\""}}`)
	b.ReportAllocs()
	for b.Loop() {
		if stats, err := p.Poll(context.Background(), cursor, st.sink()); err != nil || stats.Fetched != 0 {
			b.Fatal(stats, err)
		}
	}
}
