package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestPollOnceThroughCLI runs `patchwatch poll --once` against an HTTP
// server that serves the hand-written RSS fixture and real OSV records.
func TestPollOnceThroughCLI(t *testing.T) {
	up := newUpstream(t)
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	cfgPath := filepath.Join(dir, "patchwatch.yaml")
	cfg := "db: " + db + "\nlog_level: warn\nhttp:\n  attempts: 1\nfeeds:\n" +
		"  usn:\n    feed_url: " + srv.URL + "/rss.xml\n    record_url: " + srv.URL + "/osv/{id}.json\n    backfill_url: \"-\"\n" +
		"  debian:\n    rdf_url: " + srv.URL + "/debian/dsa.rdf\n    dsa_list_url: " + srv.URL + "/debian/DSA.list\n" +
		"    dla_list_url: " + srv.URL + "/debian/DLA.list\n    tracker_url: " + srv.URL + "/debian/tracker.json\n" +
		"  kev:\n    url: " + srv.URL + "/kev.json\n" +
		"  rhsa:\n    base_url: " + srv.URL + "/csaf/\n" +
		"  almalinux:\n    url: " + srv.URL + "/alma.zip\n" +
		"  rocky:\n    enabled: false\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var fetches [2]int32
	for round := 1; round <= 2; round++ {
		if r := run(t, db, "poll", "--once", "--config", cfgPath); r.err != nil {
			t.Fatalf("round %d: %v\n%s", round, r.err, r.stderr)
		}
		fetches[round-1] = up.recordFetches.Load()
	}
	// Round 1: the feed's 3 notices, the numbers it does not show
	// (USN-8259-2, 8260-2, 8261-1, 8262-2, each a 404) and the three after
	// its newest (8263-1 to 8265-1). Round 2: a 304, and those three again.
	if fetches[0] != 10 || fetches[1] != 13 {
		t.Errorf("record fetches after each round = %v, want [10 13]", fetches)
	}
	r := run(t, db, "advisory", "USN-8262-1")
	if r.err != nil || !strings.Contains(r.stdout, "ubuntu:16.04  lua5.1 (source)  5.1.5-8ubuntu1+esm1  Ubuntu Pro (esm-infra)") {
		t.Errorf("advisory after poll: %v\n%s", r.err, r.stdout)
	}
	// The Debian lists were read whole, and the tracker's urgency gives an
	// old bullseye xorg-server its DSA's severity.
	for _, id := range []string{"DSA-5380-1", "DSA-135", "DLA-3380-1", "RHSA-2024:0010", "RHSA-2023:7434", "RHSA-2024:0811", "ALSA-2026:49525"} {
		if r := run(t, db, "advisory", id); r.err != nil {
			t.Errorf("%s not stored after poll: %v", id, r.err)
		}
	}
	pkgs := filepath.Join(dir, "pkgs.tsv")
	os.WriteFile(pkgs, []byte("xserver-xorg-core\t2:1.20.11-1+deb11u5\txorg-server\t2:1.20.11-1+deb11u5\tamd64\n"), 0o600)
	if r := run(t, db, "host", "import", "--name", "x11", "--os-release", "../../inventory/testdata/debian-11.os-release", pkgs); r.err != nil {
		t.Fatal(r.err)
	}
	r = run(t, db, "outstanding", "--host", "x11", "--format", "json")
	if !strings.Contains(r.stdout, `"advisory": "DSA-5380-1"`) || !strings.Contains(r.stdout, `"severity": "medium"`) ||
		!strings.Contains(r.stdout, "sudo apt-get install --only-upgrade xserver-xorg-core") {
		t.Errorf("bullseye finding:\n%s", r.stdout)
	}
}

func tarZst(t *testing.T, dir string, names ...string) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
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

func zipDir(t testing.TB, dirs ...string) []byte {
	t.Helper()
	var files []string
	for _, dir := range dirs {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		files = append(files, matches...)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		w, _ := zw.Create(filepath.Base(f))
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}
