package importer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/importer"
	"github.com/patchwatch/patchwatch/internal/archivegen"
	"github.com/patchwatch/patchwatch/internal/memwatch"
)

// A decompression bomb of every format is rejected at its limit, naming
// the file and the limit, and costs at most one member's limit in memory;
// the real record beside it is still imported.
func TestImportDecompressionBombs(t *testing.T) {
	const member, total = 2 << 20, 4 << 20
	dir := t.TempDir()
	for _, format := range archivegen.Formats {
		size := int64(16 << 20)
		if strings.Contains(format, "xz") || format == "tar" {
			size = 12 << 20 // slow to build, or stored as it is; still 3× the total
		}
		bomb, err := archivegen.Bomb(format, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bomb."+format), bomb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kev, err := os.ReadFile("../feeds/kev/testdata/known_exploited_vulnerabilities.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "kev.json"), kev, 0o644)
	rejected := map[string]error{}
	imported := false
	// The bound is on what the walk holds, not on garbage the collector
	// has yet to reach (on a loaded machine it lags): collect early.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	peak := memwatch.Measure(func() {
		err = importer.WalkLimited(context.Background(), []string{dir}, importer.Parsers(), feeds.Limits{Member: member, Total: total}, func(r importer.Record) error {
			if r.Err != nil {
				rejected[filepath.Base(strings.SplitN(r.Name, "!", 2)[0])] = r.Err
			}
			imported = imported || r.KEV != nil
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range archivegen.Formats {
		name := "bomb." + format
		e := rejected[name]
		if !errors.Is(e, feeds.ErrLimit) {
			t.Errorf("%s: %v, want a limit error", name, e)
			continue
		}
		if msg := e.Error(); !strings.Contains(msg, name) || !(strings.Contains(msg, "2097152") || strings.Contains(msg, "4194304")) {
			t.Errorf("%s: %q does not name the file and the limit", name, msg)
		}
	}
	if !imported {
		t.Error("the real catalog beside the bombs was not imported")
	}
	t.Logf("peak heap %s over %d bombs", memwatch.MiB(peak.HeapInuse), len(archivegen.Formats))
	// The KEV catalog (1.2 MB, decoded) is the largest thing held.
	if peak.HeapInuse > member+24<<20 {
		t.Errorf("peak heap %s, want under the member limit + 24 MiB", memwatch.MiB(peak.HeapInuse))
	}
}
