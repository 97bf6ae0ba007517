package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/rebuild"
	"github.com/patchwatch/patchwatch/feeds/rhsa"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/version"
)

// expectRPM is the direct computation the matcher is checked against: every
// advisory fixing an installed binary name on release, non-modular fixes
// for non-modular packages, with an installed version older than the fix
// once the fix's epoch is assumed (these inventories carry no epochs).
func expectRPM(t *testing.T, advisories []patchwatch.Advisory, release string, pkgs []patchwatch.Package) []string {
	t.Helper()
	var want []string
	for _, a := range advisories {
		exposed := false
		for _, f := range a.Fixes {
			if f.Release != release || f.Module != "" {
				continue
			}
			for _, p := range pkgs {
				if p.Name != f.Package || strings.Contains(p.Version, ".module") {
					continue
				}
				fixed, _ := version.ParseRPM(f.FixedVersion)
				installed, _ := version.ParseRPM(p.Version)
				if installed.WithEpoch(fixed.Epoch()).Compare(fixed) < 0 {
					exposed = true
				}
			}
		}
		if exposed {
			want = append(want, a.ID)
		}
	}
	slices.Sort(want)
	return want
}

func outstandingIDs(t *testing.T, db, host string) []string {
	t.Helper()
	r := run(t, db, "outstanding", "--host", host, "--format", "json")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var findings []struct {
		Advisory string `json:"advisory"`
		Command  string `json:"command"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range findings {
		ids = append(ids, f.Advisory)
		if !strings.HasPrefix(f.Command, "sudo dnf upgrade") {
			t.Errorf("%s: command %q", f.Advisory, f.Command)
		}
	}
	slices.Sort(ids)
	return ids
}

func parseDir(t *testing.T, pattern string, parse func([]byte) (patchwatch.Advisory, error)) []patchwatch.Advisory {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	var out []patchwatch.Advisory
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if a, err := parse(data); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// TestAlmaHostAgainstALSA: the AlmaLinux 9.0 image, years behind the
// August 2026 ALSAs, against AlmaLinux's own advisories.
func TestAlmaHostAgainstALSA(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	if r := run(t, db, "import", "--quiet", "../../feeds/rebuild/testdata", "../../feeds/rhsa/testdata"); r.err != nil && !strings.Contains(r.stdout, "0 rejected") {
		t.Fatalf("import: %v\n%s", r.err, r.stdout)
	}
	if r := run(t, db, "host", "import", "--name", "alma9", "--os-release", "../../inventory/testdata/almalinux-9.4.os-release", "../../inventory/testdata/alma-9.0-base.rpm-packages"); r.err != nil {
		t.Fatal(r.err)
	}
	data, _ := os.ReadFile("../../inventory/testdata/alma-9.0-base.rpm-packages")
	list, err := inventory.ParseRPMPackages("alma", data)
	if err != nil {
		t.Fatal(err)
	}
	alsa := append(parseDir(t, "../../feeds/rebuild/testdata/almalinux9/*.json", rebuild.Parse),
		parseDir(t, "../../feeds/rebuild/testdata/almalinux-both/*.json", rebuild.Parse)...)
	want := expectRPM(t, alsa, "almalinux:9", list.Packages)
	got := outstandingIDs(t, db, "alma9")
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// TestRebuildHostsAgainstRHSA: rebuild hosts with none of their own
// distribution's advisories imported are matched against Red Hat's: a
// real AlmaLinux 9.2 VM (behind on sudo) and the Rocky 9.0 image.
func TestRebuildHostsAgainstRHSA(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	if r := run(t, db, "import", "--quiet", "../../feeds/rhsa/testdata"); r.err != nil {
		t.Fatalf("import: %v\n%s", r.err, r.stdout)
	}
	advisories := parseDir(t, "../../feeds/rhsa/testdata/*/*.json", rhsa.Parse)
	tests := []struct{ name, osRelease, packages string }{
		{"alma92", "../../inventory/testdata/almalinux-9.4.os-release", "testdata/alma-9.2-vm.rpm-qa"},
		{"rocky90", "../../inventory/testdata/rocky-9.3.os-release", "../../inventory/testdata/rocky-9.0-base.packages.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := run(t, db, "host", "import", "--name", tt.name, "--os-release", tt.osRelease, tt.packages); r.err != nil {
				t.Fatal(r.err)
			}
			data, _ := os.ReadFile(tt.packages)
			list, err := inventory.ParseRPMPackages(tt.packages, data)
			if err != nil {
				t.Fatal(err)
			}
			want := expectRPM(t, advisories, "rhel:9", list.Packages)
			got := outstandingIDs(t, db, tt.name)
			if !slices.Equal(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
			if tt.name != "alma92" {
				return
			}
			if !slices.Contains(got, "RHSA-2024:0811") {
				t.Errorf("sudo 1.9.5p2-9.el9 not flagged: %v", got)
			}
			r := run(t, db, "outstanding", "--host", tt.name)
			if !strings.Contains(r.stdout, "matched against Red Hat's advisories (rhel:9)") || !strings.Contains(r.stdout, "fix: sudo dnf upgrade sudo") {
				t.Errorf("table:\n%s", r.stdout)
			}
		})
	}
}
