package rhsa_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/rhsa"
)

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func parse(t *testing.T, name string) patchwatch.Advisory {
	t.Helper()
	data := readFile(t, name)
	if !rhsa.Detect(data) {
		t.Fatalf("%s not detected", name)
	}
	a, err := rhsa.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fixes returns "release package kind module=version" strings.
func fixes(a patchwatch.Advisory) map[string]string {
	out := map[string]string{}
	for _, f := range a.Fixes {
		out[f.Release+" "+f.Package+" "+string(f.Kind)+" "+f.Module] = f.FixedVersion
	}
	return out
}

func TestParseDocuments(t *testing.T) {
	tests := []struct {
		file, id, severity string
		cvss               float64
		reboot             bool
		want               map[string]string // subset of fixes
		absent             []string          // release prefixes that must not appear
	}{
		{"2023/rhsa-2023_7434.json", "RHSA-2023:7434", "Important", 7.8, true, map[string]string{
			"rhel-aus:8.2 kernel binary ":      "0:4.18.0-193.119.1.el8_2",
			"rhel-e4s:8.2 kernel-core binary ": "0:4.18.0-193.119.1.el8_2",
			"rhel-tus:8.2 kernel source ":      "0:4.18.0-193.119.1.el8_2",
		}, []string{"rhel:8 "}},
		{"2024/rhsa-2024_0811.json", "RHSA-2024:0811", "Moderate", 7.0, false, map[string]string{
			"rhel:9 sudo binary ":       "0:1.9.5p2-10.el9_3",
			"rhel-eus:9.2 sudo binary ": "0:1.9.5p2-9.el9_2.2",
			"rhel-eus:9.0 sudo binary ": "0:1.9.5p2-7.el9_0.4",
			"rhel:8 sudo binary ":       "0:1.9.5p2-1.el8_9",
			"rhel-eus:8.6 sudo binary ": "0:1.9.5p2-1.el8_6",
		}, nil},
		{"2023/rhsa-2023_3821.json", "RHSA-2023:3821", "Moderate", 0, false, map[string]string{
			"rhel:8 ruby binary ruby:2.7": "0:2.7.8-139.module+el8.8.0+18745+f1bef313",
		}, nil},
		{"2024/rhsa-2024_1431.json", "RHSA-2024:1431", "Moderate", 0, false, map[string]string{
			"rhel:8 ruby binary ruby:3.1": "0:3.1.4-142.module+el8.9.0+21471+7d1e4a35",
		}, nil},
		{"2025/rhsa-2025_23414.json", "RHSA-2025:23414", "Important", 0, false, map[string]string{
			"rhel-els:6 bind binary ": "32:9.8.2-0.68.rc1.el6_10.17",
		}, nil},
		{"2024/rhsa-2024_6163.json", "RHSA-2024:6163", "Moderate", 0, false, map[string]string{
			"rhel:9 python3.9 source ": "0:3.9.18-3.el9_4.5",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			a := parse(t, tt.file)
			if a.ID != tt.id || a.Source != patchwatch.SourceRHSA || a.SourceSeverity != tt.severity || a.RebootHint != tt.reboot {
				t.Errorf("header = %s %s %q reboot=%v", a.ID, a.Source, a.SourceSeverity, a.RebootHint)
			}
			if tt.cvss != 0 && a.CVSS != tt.cvss {
				t.Errorf("cvss = %v", a.CVSS)
			}
			if a.URL != "https://access.redhat.com/errata/"+tt.id || len(a.CVEs) == 0 {
				t.Errorf("url %q cves %v", a.URL, a.CVEs)
			}
			got := fixes(a)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("fix %q = %q, want %q", k, got[k], v)
				}
			}
			for k := range got {
				for _, bad := range tt.absent {
					if strings.HasPrefix(k, bad) {
						t.Errorf("unexpected fix %q", k)
					}
				}
				if strings.Contains(k, "debuginfo") || strings.Contains(k, "debugsource") {
					t.Errorf("debug package fix %q", k)
				}
			}
		})
	}
}

func TestModuleStreamsKeptApart(t *testing.T) {
	for _, f := range parse(t, "2023/rhsa-2023_7025.json").Fixes {
		if strings.HasPrefix(f.Package, "ruby") && f.Module != "ruby:2.5" {
			t.Errorf("%s has module %q", f.Package, f.Module)
		}
	}
}

func TestParseRejects(t *testing.T) {
	_, err := rhsa.Parse(readFile(t, "2023/rhsa-2023_7438.json"))
	if !errors.Is(err, patchwatch.ErrNotAdvisory) {
		t.Errorf("OpenStack-only advisory: %v", err)
	}
	for name, doc := range map[string]string{
		"not json":     "{",
		"no tracking":  `{"csaf_version":"2.0","document":{},"product_tree":{}}`,
		"dangling fix": `{"document":{"tracking":{"id":"RHSA-2024:0001","initial_release_date":"2024-01-01T00:00:00Z"}},"product_tree":{},"vulnerabilities":[{"cve":"CVE-2024-1","product_status":{"fixed":["X:y"]}}]}`,
	} {
		if _, err := rhsa.Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStreamRelease(t *testing.T) {
	tests := map[string]string{
		"cpe:/o:redhat:enterprise_linux:9::baseos":    "rhel:9",
		"cpe:/a:redhat:enterprise_linux:8::appstream": "rhel:8",
		"cpe:/o:redhat:rhel_eus:9.2::baseos":          "rhel-eus:9.2",
		"cpe:/o:redhat:rhel_aus:8.2::baseos":          "rhel-aus:8.2",
		"cpe:/o:redhat:rhel_els:6":                    "rhel-els:6",
		"cpe:/a:redhat:openstack:17.1::el9":           "",
	}
	for cpe, want := range tests {
		got, _ := rhsa.StreamRelease(cpe)
		if got != want {
			t.Errorf("StreamRelease(%s) = %q, want %q", cpe, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readFile(f, "2024/rhsa-2024_0010.json"))
	f.Add(readFile(f, "2025/rhsa-2025_23414.json"))
	f.Add(readFile(f, "2026/rhba-2026_0100.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := rhsa.Parse(data)
		if err == nil {
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
