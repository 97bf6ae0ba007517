package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/internal/archivegen"
	"github.com/patchwatch/patchwatch/internal/memwatch"
)

// `patchwatch import` of a gzip bomb that expands past the 1 GiB file
// limit rejects it on one line naming the file and the limit, without
// holding the expansion in memory.
func TestImportGzipBombAtDefaultLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 1 GiB")
	}
	bomb, err := archivegen.Bomb("gz", 1<<30+1<<20)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "advisories.json.gz")
	if err := os.WriteFile(path, bomb, 0o644); err != nil {
		t.Fatal(err)
	}
	var r result
	peak := memwatch.Measure(func() { r = run(t, filepath.Join(dir, "pw.db"), "import", path) })
	line := ""
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "advisories.json.gz") {
			line = l
		}
	}
	if !strings.HasPrefix(line, "rejected") || !strings.Contains(line, path) || !strings.Contains(line, "limit of 1073741824 bytes") {
		t.Fatalf("output %q (err %v), want one rejected line naming the file and the limit", r.stdout, r.err)
	}
	t.Logf("%s; peak heap %s", line, memwatch.MiB(peak.HeapInuse))
	if peak.HeapInuse > 64<<20 {
		t.Errorf("peak heap %s for a bomb rejected before it is held", memwatch.MiB(peak.HeapInuse))
	}
}
