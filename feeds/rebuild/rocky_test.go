package rebuild_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/patchwatch/patchwatch/feeds/rebuild"
)

// rockyVariant rewrites the real RLSA-2021:3891 (java-11-openjdk, epoch 1)
// the way Rocky's errata service can publish it: the epoch only in the
// purl, the CVE IDs only in upstream.
func rockyVariant(t *testing.T, purl string) []byte {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal(readFile(t, "RLSA-2021_3891.json"), &rec); err != nil {
		t.Fatal(err)
	}
	rec["upstream"] = rec["related"]
	delete(rec, "related")
	af := rec["affected"].([]any)[0].(map[string]any)
	af["package"].(map[string]any)["purl"] = purl
	af["ranges"].([]any)[0].(map[string]any)["events"] = []any{map[string]any{"introduced": "0"}, map[string]any{"fixed": "11.0.13.0.8-1.el8_4"}}
	b, _ := json.Marshal(rec)
	return b
}

func TestRockyPurlEpochAndUpstreamCVEs(t *testing.T) {
	tests := []struct {
		name, purl, want string
	}{
		{"epoch in the purl", "pkg:rpm/rocky-linux/java-11-openjdk?distro=rocky-linux-8-4-legacy&epoch=1", "1:11.0.13.0.8-1.el8_4"},
		{"epoch first, subpath", "pkg:rpm/rocky-linux/java-11-openjdk?epoch=1&distro=rocky-linux-8#x", "1:11.0.13.0.8-1.el8_4"},
		{"no epoch qualifier", "pkg:rpm/rocky-linux/java-11-openjdk?distro=rocky-linux-8", "0:11.0.13.0.8-1.el8_4"},
		{"no purl", "", "0:11.0.13.0.8-1.el8_4"},
		{"junk epoch", "pkg:rpm/rocky-linux/java-11-openjdk?epoch=-3", "0:11.0.13.0.8-1.el8_4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := rebuild.Parse(rockyVariant(t, tt.purl))
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Fixes[0].FixedVersion; got != tt.want {
				t.Errorf("fixed = %q, want %q", got, tt.want)
			}
			if len(a.CVEs) != 10 || !slices.Contains(a.CVEs, "CVE-2021-35550") {
				t.Errorf("CVEs = %v, want the 10 from upstream", a.CVEs)
			}
		})
	}
}

func TestAlmaLinux10(t *testing.T) {
	for _, name := range []string{"ALSA-2026_49508.json", "ALSA-2026_49514.json", "ALSA-2026_49523.json"} {
		a, err := rebuild.Parse(readFile(t, "almalinux10/"+name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range a.Fixes {
			if f.Release != "almalinux:10" {
				t.Errorf("%s: release %q", name, f.Release)
			}
		}
	}
}
