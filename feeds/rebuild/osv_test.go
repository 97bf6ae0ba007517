package rebuild_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/rebuild"
)

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseAllRecords(t *testing.T) {
	files, _ := filepath.Glob("testdata/almalinux*/*.json")
	rocky, _ := filepath.Glob("testdata/RLSA-*.json")
	files = append(files, rocky...)
	if len(files) < 100 {
		t.Fatalf("only %d records", len(files))
	}
	parsed, skipped, modules := 0, 0, 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if !rebuild.Detect(data) {
			t.Errorf("%s not detected", f)
		}
		a, err := rebuild.Parse(data)
		if errors.Is(err, patchwatch.ErrNotAdvisory) {
			skipped++
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		parsed++
		for _, fx := range a.Fixes {
			if fx.FixedVersion[0] < '0' || fx.FixedVersion[0] > '9' || !containsColon(fx.FixedVersion) {
				t.Errorf("%s: fixed version %q has no explicit epoch", a.ID, fx.FixedVersion)
			}
			if fx.Module != "" {
				modules++
			}
		}
	}
	if parsed == 0 || modules == 0 {
		t.Errorf("parsed %d, skipped %d, module fixes %d", parsed, skipped, modules)
	}
}

func containsColon(s string) bool {
	for i := range len(s) {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

func TestParseRocky(t *testing.T) {
	a, err := rebuild.Parse(readFile(t, "RLSA-2024_3671.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "RLSA-2024:3671" || a.Source != patchwatch.SourceRLSA || a.SourceSeverity != "Moderate" || a.Severity != patchwatch.SeverityMedium {
		t.Errorf("header = %+v", a)
	}
	found := false
	for _, f := range a.Fixes {
		if f.Package == "ruby" {
			found = true
			if f.Release != "rocky:9" || f.FixedVersion != "0:3.3.1-2.module+el9.4.0+20787+4c237fd3" || f.Module != "ruby:3.3" {
				t.Errorf("ruby fix = %+v", f)
			}
		}
	}
	if !found {
		t.Error("no ruby fix")
	}
}

func TestParseAlmaEpoch(t *testing.T) {
	a, err := rebuild.Parse(readFile(t, "almalinux9/ALSA-2026_49525.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != patchwatch.SourceALSA || a.Fixes[0].Release != "almalinux:9" || a.Fixes[0].FixedVersion != "0:2.38-6.el9_8.2" ||
		a.URL != "https://errata.almalinux.org/9/ALSA-2026-49525.html" {
		t.Errorf("ALSA-2026:49525 = %+v %s", a.Fixes[0], a.URL)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readFile(f, "RLSA-2024_3671.json"))
	f.Add(readFile(f, "almalinux9/ALSA-2026_49525.json"))
	f.Add(readFile(f, "almalinux10/ALSA-2026_49508.json"))
	// An epoch only in the purl, CVEs only in upstream.
	f.Add([]byte(`{"id":"RLSA-2021:3891","published":"2021-10-20T00:00:00Z","upstream":["CVE-2021-35550"],` +
		`"affected":[{"package":{"ecosystem":"Rocky Linux:8","name":"java-11-openjdk","purl":"pkg:rpm/rocky-linux/java-11-openjdk?epoch=1"},` +
		`"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"11.0.13.0.8-1.el8_4"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := rebuild.Parse(data)
		if err == nil {
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, fix := range a.Fixes {
				if fix.FixedVersion != "" && !strings.Contains(fix.FixedVersion, ":") {
					t.Fatalf("fixed version %q without an epoch", fix.FixedVersion)
				}
			}
		}
	})
}
