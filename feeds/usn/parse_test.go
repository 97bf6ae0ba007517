package usn_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/usn"
)

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func fixFor(a patchwatch.Advisory, release, pkg string) (patchwatch.Fix, bool) {
	for _, f := range a.Fixes {
		if f.Release == release && f.Package == pkg {
			return f, true
		}
	}
	return patchwatch.Fix{}, false
}

func TestParseOSVKernel(t *testing.T) {
	a, err := usn.ParseOSV(readFile(t, "USN-6000-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "USN-6000-1" || a.Source != patchwatch.SourceUSN || a.Title != "linux-bluefield vulnerabilities" {
		t.Errorf("header = %q %q %q", a.ID, a.Source, a.Title)
	}
	if !a.Published.Equal(time.Date(2023, 4, 5, 22, 53, 45, 0, time.UTC)) || !a.Modified.Equal(time.Date(2026, 4, 27, 14, 11, 30, 0, time.UTC)) {
		t.Errorf("times = %v %v", a.Published, a.Modified)
	}
	if !a.RebootHint {
		t.Error("kernel notice has no reboot hint")
	}
	f, ok := fixFor(a, "ubuntu:20.04", "linux-bluefield")
	if !ok || f.FixedVersion != "5.4.0-1059.65" || f.Kind != patchwatch.KindSource || f.Subscription != "" {
		t.Fatalf("fix = %+v", f)
	}
	if len(f.Binaries) != 7 {
		t.Errorf("binaries = %v", f.Binaries)
	}
	if a.Severity == patchwatch.SeverityUnknown || a.URL != "https://ubuntu.com/security/notices/USN-6000-1" {
		t.Errorf("severity %v url %q", a.Severity, a.URL)
	}
	if len(a.CVEs) < 10 {
		t.Errorf("cves = %v", a.CVEs)
	}
}

func TestParseOSVSubscriptions(t *testing.T) {
	tests := []struct {
		file, release, pkg, fixed, subscription string
	}{
		{"USN-8259-1.json", "ubuntu:16.04", "openexr", "2.2.0-10ubuntu2.6+esm4", "Ubuntu Pro (esm-infra)"},
		{"USN-8259-1.json", "ubuntu:22.04", "openexr", "2.5.7-1ubuntu0.1~esm2", "Ubuntu Pro"},
		{"USN-8259-1.json", "ubuntu:26.04", "openexr", "3.1.13-2ubuntu0.26.04.1~esm1", "Ubuntu Pro"},
		{"USN-8260-1.json", "ubuntu:24.04", "linux-azure-fips", "6.8.0-1054.60+fips1", "Ubuntu Pro (FIPS-updates)"},
		{"USN-8262-1.json", "ubuntu:16.04", "lua5.1", "5.1.5-8ubuntu1+esm1", "Ubuntu Pro (esm-infra)"},
		{"USN-5614-1.json", "ubuntu:18.04", "wayland", "1.16.0-1ubuntu1.1~18.04.4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.release, func(t *testing.T) {
			a, err := usn.ParseOSV(readFile(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			f, ok := fixFor(a, tt.release, tt.pkg)
			if !ok {
				t.Fatalf("no fix for %s %s in %+v", tt.release, tt.pkg, a.Fixes)
			}
			if f.FixedVersion != tt.fixed || f.Subscription != tt.subscription {
				t.Errorf("fix = %q %q, want %q %q", f.FixedVersion, f.Subscription, tt.fixed, tt.subscription)
			}
		})
	}
}

func TestParseOSVSeverity(t *testing.T) {
	a, err := usn.ParseOSV(readFile(t, "USN-8259-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Severity != patchwatch.SeverityMedium || a.SourceSeverity != "medium" {
		t.Errorf("severity = %v (%q)", a.Severity, a.SourceSeverity)
	}
	// The older USN-5614-1 copy has no cves_map: no severity is made up.
	old, err := usn.ParseOSV(readFile(t, "USN-5614-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if old.Severity != patchwatch.SeverityUnknown {
		t.Errorf("old record severity = %v, want unknown", old.Severity)
	}
	newer, err := usn.ParseOSV(readFile(t, "USN-5614-1.newer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !newer.Modified.After(old.Modified) {
		t.Errorf("modified %v not after %v", newer.Modified, old.Modified)
	}
}

func TestParseLegacy(t *testing.T) {
	a, err := usn.ParseLegacy(readFile(t, "legacy-6000-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "USN-6000-1" || a.Title != "Linux kernel (BlueField) vulnerabilities" || !a.RebootHint {
		t.Errorf("header = %q %q reboot=%v", a.ID, a.Title, a.RebootHint)
	}
	if f, ok := fixFor(a, "ubuntu:20.04", "linux-bluefield"); !ok || f.FixedVersion != "5.4.0-1059.65" {
		t.Errorf("linux-bluefield fix = %+v", f)
	}
	// The meta packages come from linux-meta-bluefield, which "sources" omits.
	if f, ok := fixFor(a, "ubuntu:20.04", "linux-meta-bluefield"); !ok || f.FixedVersion != "5.4.0.1059.54" {
		t.Errorf("linux-meta-bluefield fix = %+v", f)
	}
	b, err := usn.ParseLegacy(readFile(t, "legacy-8259-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := fixFor(b, "ubuntu:26.04", "openexr"); !ok || f.Subscription != "Ubuntu Pro (esm-apps)" || f.FixedVersion != "3.1.13-2ubuntu0.26.04.1~esm1" {
		t.Errorf("resolute fix = %+v", f)
	}
	if b.RebootHint {
		t.Error("openexr notice wants a reboot")
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr error
	}{
		{"cve record", string(readFile(t, "UBUNTU-CVE-2021-3782.json")), usn.ErrNotUSN},
		{"not json", "<rss/>", nil},
		{"empty object", "{}", nil},
		{"bad ecosystem", `{"schema_version":"1.6.0","id":"USN-1-1","published":"2020-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:11","name":"x"}}]}`, nil},
		{"bad time", `{"schema_version":"1.6.0","id":"USN-1-1","published":"yesterday","affected":[]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := usn.Parse([]byte(tt.data))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	for name, want := range map[string]usn.Format{
		"USN-6000-1.json":    usn.FormatOSV,
		"legacy-6000-1.json": usn.FormatLegacy,
	} {
		if got := usn.Detect(readFile(t, name)); got != want {
			t.Errorf("Detect(%s) = %v, want %v", name, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"USN-6000-1.json", "USN-8262-1.json", "legacy-8259-1.json"} {
		f.Add(readFile(f, name))
	}
	f.Add([]byte(`{"1-1":{"title":"x","releases":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		advisories, err := usn.Parse(data)
		if err != nil {
			return
		}
		for _, a := range advisories {
			if err := a.Validate(); err != nil {
				t.Fatalf("Parse returned an invalid advisory: %v", err)
			}
		}
	})
}
