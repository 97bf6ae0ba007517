package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/feeds/rhsa"
	"github.com/patchwatch/patchwatch/internal/archivegen"
	"github.com/patchwatch/patchwatch/internal/memwatch"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// bigUbuntu publishes like ubuntu.com and OSV.dev at full scale: a bulk
// export generated on the fly (never held in memory or on disk) of
// `notices` USN records and enough UBUNTU-CVE records to reach `size`
// bytes, the RSS window of the 10 newest notices after it, and their
// records. The export supports Range and If-Range, and its first response
// is cut at a third of its length, as a flaky link would.
type bigUbuntu struct {
	notices   int
	size      int64
	total     int64 // the export's exact length, measured once
	templates [][]byte
	cve       []byte
	alma      []byte
	csaf      [][2][]byte // real CSAF documents and their IDs
	csafDocs  int
	mu        sync.Mutex
	cut       bool
	ranges    []string
}

func newBigUbuntu(tb testing.TB, notices int, size int64) *bigUbuntu {
	tb.Helper()
	u := &bigUbuntu{notices: notices, size: size, cut: true}
	// Real records, renamed: the kernel notice with 177 CVEs, Pro and ESM
	// notices, a plain one.
	for _, name := range []string{"USN-5614-1", "USN-6000-1", "USN-8259-1", "USN-8260-1", "USN-8262-1"} {
		b, err := os.ReadFile("../../feeds/usn/testdata/" + name + ".json")
		if err != nil {
			tb.Fatal(err)
		}
		u.templates = append(u.templates, bytes.ReplaceAll(b, []byte(`"`+name+`"`), []byte(`"{ID}"`)))
	}
	cve, err := os.ReadFile("../../feeds/usn/testdata/UBUNTU-CVE-2021-3782.json")
	if err != nil {
		tb.Fatal(err)
	}
	// CVE records are skipped by name; 64 KiB each gives the real
	// export's order of entries per GB.
	u.cve = bytes.Repeat(cve, 64<<10/len(cve)+1)[:64<<10]
	u.alma = zipDir(tb, "../../feeds/rebuild/testdata/almalinux9")
	docs, _ := filepath.Glob("../../feeds/rhsa/testdata/20*/rhsa-*.json")
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := rhsa.Parse(b); err != nil {
			continue // not a RHEL advisory (OpenStack): skipped by the poller too
		}
		base := strings.TrimSuffix(filepath.Base(d), ".json") // rhsa-2024_0010
		id := strings.ToUpper(strings.Replace(base, "_", ":", 1))
		u.csaf = append(u.csaf, [2][]byte{b, []byte(id)})
	}
	u.csafDocs = 600
	counter := &countingWriter{}
	if err := u.write(counter); err != nil {
		tb.Fatal(err)
	}
	u.total = counter.n
	return u
}

func (u *bigUbuntu) record(n int) []byte {
	return bytes.ReplaceAll(u.templates[n%len(u.templates)], []byte("{ID}"), []byte(fmt.Sprintf("USN-%d-1", n)))
}

func (u *bigUbuntu) write(w io.Writer) error {
	n, written := 0, int64(0)
	cves := 0
	return archivegen.WriteZip(w, func() (archivegen.Member, bool) {
		switch {
		case n < u.notices:
			n++
			b := u.record(n)
			written += int64(len(b))
			return archivegen.Member{Name: fmt.Sprintf("USN-%d-1.json", n), Content: b}, true
		case written < u.size:
			cves++
			written += int64(len(u.cve))
			return archivegen.Member{Name: fmt.Sprintf("UBUNTU-CVE-2020-%d.json", cves), Content: u.cve, Stored: true}, true
		}
		return archivegen.Member{}, false
	})
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// window skips the first start bytes and ends after stop bytes (-1: never).
type window struct {
	w           io.Writer
	start, stop int64
	pos         int64
}

var errCut = fmt.Errorf("cut")

func (s *window) Write(p []byte) (int, error) {
	n := len(p)
	lo, hi := s.pos, s.pos+int64(n)
	s.pos = hi
	if s.stop >= 0 && lo >= s.stop {
		return 0, errCut
	}
	a, b := max(lo, s.start), hi
	if s.stop >= 0 {
		b = min(b, s.stop)
	}
	if a < b {
		if _, err := s.w.Write(p[a-lo : b-lo]); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (u *bigUbuntu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	newest := u.notices + 10
	switch {
	case r.URL.Path == "/all.zip":
		w.Header().Set("ETag", `"export-1"`)
		start := int64(0)
		if rg := r.Header.Get("Range"); rg != "" && r.Header.Get("If-Range") == `"export-1"` {
			start, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, u.total-1, u.total))
			w.Header().Set("Content-Length", strconv.FormatInt(u.total-start, 10))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.FormatInt(u.total, 10))
		}
		u.mu.Lock()
		u.ranges = append(u.ranges, r.Header.Get("Range"))
		stop := int64(-1)
		if u.cut {
			u.cut, stop = false, u.total/3
		}
		u.mu.Unlock()
		if err := u.write(&window{w: w, start: start, stop: stop}); err == errCut {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}
	case r.URL.Path == "/rss.xml":
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Ubuntu security notices</title>`)
		for n := newest; n > newest-10; n-- {
			fmt.Fprintf(&b, `<item><title>USN-%d-1: update</title><link>https://ubuntu.com/security/notices/USN-%d-1</link></item>`, n, n)
		}
		b.WriteString(`</channel></rss>`)
		w.Write([]byte(b.String()))
	case strings.HasPrefix(r.URL.Path, "/osv/USN-"):
		var n, k int
		if _, err := fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/osv/"), "USN-%d-%d.json", &n, &k); err != nil || k != 1 || n > newest || n < 1 {
			http.NotFound(w, r)
			return
		}
		w.Write(u.record(n))
	case r.URL.Path == "/csaf/archive_latest.txt":
		w.Write([]byte("csaf_advisories_2026-11-01.tar.zst\n"))
	case r.URL.Path == "/csaf/csaf_advisories_2026-11-01.tar.zst":
		// Red Hat's archive: real documents renamed, streamed as tar.zst.
		i := 0
		archivegen.WriteTar(w, "tar.zst", func() (archivegen.Member, bool) {
			if i == u.csafDocs {
				return archivegen.Member{}, false
			}
			i++
			doc := u.csaf[i%len(u.csaf)]
			id := fmt.Sprintf("RHSA-2099:%05d", i)
			return archivegen.Member{Name: fmt.Sprintf("2099/rhsa-2099_%05d.json", i), Content: bytes.ReplaceAll(doc[0], doc[1], []byte(id))}, true
		})
	case r.URL.Path == "/csaf/changes.csv", r.URL.Path == "/csaf/deletions.csv":
		w.Write(nil)
	case r.URL.Path == "/kev.json":
		http.ServeFile(w, r, "../../feeds/kev/testdata/known_exploited_vulnerabilities.json")
	case r.URL.Path == "/alma.zip":
		w.Write(u.alma)
	default:
		http.NotFound(w, r)
	}
}

// firstStart runs `patchwatch poll --once` on an empty database against
// u, as a new user's first start does, and returns its peak memory.
func firstStart(tb testing.TB, u *bigUbuntu) (memwatch.Peak, time.Duration, string) {
	tb.Helper()
	srv := httptest.NewServer(u)
	defer srv.Close()
	dir := tb.TempDir()
	db := filepath.Join(dir, "pw.db")
	cfgPath := filepath.Join(dir, "patchwatch.yaml")
	cfg := "db: " + db + "\nlog_level: info\nhttp:\n  attempts: 2\n  backoff: 1ms\nfeeds:\n" +
		"  usn:\n    feed_url: " + srv.URL + "/rss.xml\n    record_url: " + srv.URL + "/osv/{id}.json\n" +
		"    backfill_url: " + srv.URL + "/all.zip\n    backfill_max_bytes: 68719476736\n" +
		"  debian:\n    enabled: false\n  rocky:\n    enabled: false\n" +
		"  rhsa:\n    base_url: " + srv.URL + "/csaf/\n" +
		"  kev:\n    url: " + srv.URL + "/kev.json\n" +
		"  almalinux:\n    url: " + srv.URL + "/alma.zip\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now}
	var err error
	start := time.Now()
	peak := memwatch.Measure(func() {
		err = Run(context.Background(), env, []string{"poll", "--once", "--config", cfgPath})
	})
	elapsed := time.Since(start)
	if err != nil {
		tb.Fatalf("first start: %v\n%s", err, errb.String())
	}
	if os.Getenv("PATCHWATCH_FIRSTSTART_LOG") != "" {
		tb.Log(errb.String())
	}
	return peak, elapsed, db
}

func checkAllStored(tb testing.TB, db string, notices int) {
	tb.Helper()
	s, err := bolt.Open(db, bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, n := range []int{1, notices / 2, notices, notices + 1, notices + 10} {
		if _, err := s.Advisory(ctx, fmt.Sprintf("USN-%d-1", n)); err != nil {
			tb.Errorf("USN-%d-1: %v", n, err)
		}
	}
	count, err := s.CountAdvisories(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	almaFiles, _ := filepath.Glob("../../feeds/rebuild/testdata/almalinux9/*.json")
	if _, err := s.Advisory(ctx, "RHSA-2099:00600"); err != nil {
		tb.Errorf("RHSA-2099:00600: %v", err)
	}
	if min := notices + 10 + 600; count < min {
		tb.Errorf("stored %d advisories, want at least %d USNs and RHSAs (+ %d ALSA files)", count, min, len(almaFiles))
	}
	raw, _ := s.Cursor(ctx, "usn")
	var cur struct {
		Backfilled bool `json:"backfilled"`
	}
	json.Unmarshal(raw, &cur)
	if !cur.Backfilled {
		tb.Errorf("usn cursor %s: backfill not complete", raw)
	}
}

// bigArchiveSize is the generated export's size: 2 GiB (3 GiB in the
// benchmark), or $PATCHWATCH_BIG_ARCHIVE_BYTES; 256 MiB under -short or
// the race detector.
func bigArchiveSize(tb testing.TB) int64 {
	if v := os.Getenv("PATCHWATCH_BIG_ARCHIVE_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
	if testing.Short() || raceEnabled {
		return 256 << 20
	}
	if _, bench := tb.(*testing.B); bench {
		return 3 << 30
	}
	return 2 << 30
}

// The whole first start (Ubuntu backfill from a multi-GB export cut once
// and resumed with Range, the feed, Red Hat's archive of 600 real CSAF
// documents, KEV, AlmaLinux) stays under 512 MB
// and stores every advisory the fake upstream publishes.
func TestFirstStartMultiGBArchive(t *testing.T) {
	const notices = 3000
	u := newBigUbuntu(t, notices, bigArchiveSize(t))
	peak, elapsed, db := firstStart(t, u)
	t.Logf("export %s: first start in %v (%.0f MB/s), peak heap %s, peak RSS %s, allocated %s; requests for the export: %q",
		memwatch.MiB(uint64(u.total)), elapsed.Round(time.Millisecond), float64(u.total)/1e6/elapsed.Seconds(),
		memwatch.MiB(peak.HeapInuse), memwatch.MiB(peak.RSS), memwatch.MiB(peak.TotalAlloc), u.ranges)
	if peak.HeapInuse > 512<<20 || (peak.RSS > 512<<20) {
		t.Errorf("peak heap %s / RSS %s, want under 512 MiB", memwatch.MiB(peak.HeapInuse), memwatch.MiB(peak.RSS))
	}
	if len(u.ranges) != 2 || u.ranges[0] != "" || !strings.HasPrefix(u.ranges[1], "bytes=") {
		t.Errorf("export requests %q, want one whole and one resumed range", u.ranges)
	}
	checkAllStored(t, db, notices)
	if entries, _ := filepath.Glob(filepath.Join(filepath.Dir(db), "patchwatch-*")); len(entries) != 0 {
		t.Errorf("downloads left beside the database: %v", entries)
	}
}

// BenchmarkFirstStart reports the peak memory and throughput of a first
// start against a generated export ($PATCHWATCH_BIG_ARCHIVE_BYTES, default
// 3 GiB).
func BenchmarkFirstStart(b *testing.B) {
	const notices = 3000
	u := newBigUbuntu(b, notices, bigArchiveSize(b))
	for b.Loop() {
		u.cut = true
		peak, elapsed, db := firstStart(b, u)
		checkAllStored(b, db, notices)
		b.ReportMetric(float64(peak.HeapInuse)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peak.RSS)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(u.total)/1e6/elapsed.Seconds(), "MB/s")
	}
}
