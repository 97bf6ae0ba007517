package dsa_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/dsa"
)

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestWholeLists checks that every entry of both real list files is
// accounted for: imported, or reported with its line.
func TestWholeLists(t *testing.T) {
	tests := []struct {
		file                 string
		entries, wantSkipped int
		source               patchwatch.Source
	}{
		{"DSA.list", 5406, 23, patchwatch.SourceDSA},
		{"DLA.list", 3534, 4, patchwatch.SourceDLA},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readFile(t, tt.file)
			if !dsa.Detect(data) {
				t.Fatal("not detected")
			}
			headers := strings.Count("\n"+string(data), "\n[")
			if headers != tt.entries {
				t.Fatalf("%d headers in the file, test expects %d", headers, tt.entries)
			}
			advisories, err := dsa.Parse(data)
			skipped := 0
			for _, e := range feeds.SplitErrors(err) {
				var le *dsa.LineError
				if !errors.As(e, &le) || le.Line == 0 {
					t.Errorf("error without a line: %v", e)
				}
				if !errors.Is(e, patchwatch.ErrNotAdvisory) {
					t.Errorf("rejected: %v", e)
				}
				skipped++
			}
			if len(advisories)+skipped != tt.entries || skipped != tt.wantSkipped {
				t.Errorf("%d imported + %d skipped, want %d entries with %d skipped", len(advisories), skipped, tt.entries, tt.wantSkipped)
			}
			for _, a := range advisories {
				if a.Source != tt.source {
					t.Fatalf("%s has source %s", a.ID, a.Source)
				}
			}
		})
	}
}

func find(advisories []patchwatch.Advisory, id string) patchwatch.Advisory {
	for _, a := range advisories {
		if a.ID == id {
			return a
		}
	}
	return patchwatch.Advisory{}
}

func TestEntryShapes(t *testing.T) {
	advisories, _ := dsa.Parse(readFile(t, "DSA.list"))
	tests := []struct {
		id, title  string
		published  string
		cves       int
		fixes      map[string]string // release/package -> fixed version ("" = no fix)
		rebootHint bool
	}{
		// Current shape.
		{"DSA-5380-1", "xorg-server: security update", "2023-03-29", 1, map[string]string{"debian:11/xorg-server": "2:1.20.11-1+deb11u6"}, false},
		// Regression update without CVEs.
		{"DSA-5356-2", "sox: regression update", "2023-03-17", 0, map[string]string{"debian:11/sox": "14.4.2+git20190427-2+deb11u2"}, false},
		// No title, old revision-less ID, extra spaces.
		{"DSA-2114-1", "git-core", "2010-09-26", -1, nil, false},
		{"DSA-2107-1", "couchdb: arbitrary code execution", "2010-09-09", -1, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			a := find(advisories, tt.id)
			if a.ID == "" {
				t.Fatal("not imported")
			}
			if a.Title != tt.title || a.Published.Format(time.DateOnly) != tt.published {
				t.Errorf("title %q published %s", a.Title, a.Published.Format(time.DateOnly))
			}
			if tt.cves >= 0 && len(a.CVEs) != tt.cves {
				t.Errorf("cves = %v", a.CVEs)
			}
			for key, want := range tt.fixes {
				release, pkg, _ := strings.Cut(key, "/")
				found := false
				for _, f := range a.Fixes {
					if f.Release == release && f.Package == pkg {
						found = true
						if f.FixedVersion != want || f.Kind != patchwatch.KindSource {
							t.Errorf("%s fix = %+v", key, f)
						}
					}
				}
				if !found {
					t.Errorf("no fix %s in %+v", key, a.Fixes)
				}
			}
			if a.URL != "https://security-tracker.debian.org/tracker/"+tt.id {
				t.Errorf("url %q", a.URL)
			}
		})
	}
	// Revision-less IDs of 2002-2004 are kept as they are.
	if a := find(advisories, "DSA-135"); a.ID == "" {
		t.Error("DSA-135 (oldest shape) not imported")
	}
}

func TestMarkers(t *testing.T) {
	list := "[01 Jan 2020] DSA-9000-1 foo - security update\n" +
		"\t{CVE-2020-0001 CVE-2020-0002}\n" +
		"\t[buster] - foo 1.0-1+deb10u1\n" +
		"\t[stretch] - foo <end-of-life>\n" +
		"\t[jessie] - foo <not-affected> (Vulnerable code not present)\n" +
		"\t[bullseye] - foo <unfixed>\n" +
		"\tNOTE: something [buster] - bar 9\n" +
		"        [sarge] - foo 0.9-1sarge1 (bug #365910)\n" +
		"[01 Jan 2020] DSA-9001-1 linux - security update\n" +
		"\t[bullseye] - linux 5.10.158-2\n"
	advisories, err := dsa.Parse([]byte(list))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range advisories[0].Fixes {
		got[f.Release] = f.FixedVersion
	}
	want := map[string]string{"debian:10": "1.0-1+deb10u1", "debian:9": "", "debian:11": "", "debian:3.1": "0.9-1sarge1"}
	if len(got) != len(want) {
		t.Fatalf("fixes = %v, want %v (not-affected jessie dropped, NOTE ignored)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if !advisories[1].RebootHint || advisories[0].RebootHint {
		t.Error("reboot hints wrong")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, list, want string
	}{
		{"bad release line", "[01 Jan 2020] DSA-1-1 a - b\n\t[buster] openssl 1.0\n", "line 2: release line"},
		{"unknown release", "[01 Jan 2020] DSA-1-1 a - b\n\t[hamster] - a 1.0\n", "unknown Debian release"},
		{"unknown marker", "[01 Jan 2020] DSA-1-1 a - b\n\t[buster] - a <maybe>\n", "unknown marker"},
		{"bad date", "[31 Feb 2020] DSA-1-1 a - b\n\t[buster] - a 1.0\n", "date"},
		{"garbage header", "[01 Jan 2020] DSA-1-1 a - b\n\t[buster] - a 1.0\nhello\n", "line 3: not an advisory header"},
		{"unterminated cves", "[01 Jan 2020] DSA-1-1 a - b\n\t{CVE-2020-1\n\t[buster] - a 1.0\n", "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dsa.Parse([]byte(tt.list))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func BenchmarkParseWholeLists(b *testing.B) {
	dsaList, dlaList := readFile(b, "DSA.list"), readFile(b, "DLA.list")
	b.ReportAllocs()
	for b.Loop() {
		dsa.Parse(dsaList)
		dsa.Parse(dlaList)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readFile(f, "DSA.list")[:3000])
	f.Add([]byte("[01 Jan 2020] DSA-1 a\n\t[woody] - a <not-affected>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		advisories, _ := dsa.Parse(data)
		for _, a := range advisories {
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
