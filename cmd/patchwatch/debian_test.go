package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/feeds/dsa"
	"github.com/patchwatch/patchwatch/version"
)

// TestDebianHostAgainstDSAList imports the whole real DSA list and the
// official bullseye image inventory twice: as published (patched as of the
// list's date: no findings), and with every version made older, where the
// findings must be exactly those a direct computation with dpkg ordering
// gives over the list.
func TestDebianHostAgainstDSAList(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	if r := run(t, db, "import", "--quiet", "../../feeds/dsa/testdata/DSA.list"); r.err != nil {
		t.Fatalf("import: %v\n%s", r.err, r.stdout)
	}
	manifest, err := os.ReadFile("testdata/bullseye-20230719.manifest")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, db, "host", "import", "--name", "bullseye", "--os-release", "../../inventory/testdata/debian-11.os-release", "testdata/bullseye-20230719.manifest")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r := run(t, db, "outstanding", "--host", "bullseye", "--format", "json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("patched image has findings: %s", r.stdout)
	}

	var old strings.Builder
	installed := map[string]string{}
	for line := range strings.Lines(string(manifest)) {
		name, ver, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			continue
		}
		installed[name] = ver + "~old"
		old.WriteString(name + "\t" + ver + "~old\n")
	}
	oldPath := filepath.Join(dir, "old.manifest")
	os.WriteFile(oldPath, []byte(old.String()), 0o600)
	if r := run(t, db, "host", "import", "--name", "old", "--os-release", "../../inventory/testdata/debian-11.os-release", oldPath); r.err != nil {
		t.Fatal(r.err)
	}

	// The direct computation: every bullseye fix whose package name is an
	// installed binary name (this inventory has no source names) and whose
	// fixed version is newer than the installed one.
	data, _ := os.ReadFile("../../feeds/dsa/testdata/DSA.list")
	advisories, _ := dsa.Parse(data)
	var want []string
	for _, a := range advisories {
		for _, f := range a.Fixes {
			v, ok := installed[f.Package]
			if f.Release != "debian:11" || !ok {
				continue
			}
			if c, err := version.CompareDeb(v, f.FixedVersion); f.FixedVersion == "" || (err == nil && c < 0) {
				want = append(want, a.ID)
				break
			}
		}
	}
	r = run(t, db, "outstanding", "--host", "old", "--format", "json")
	var findings []struct {
		Advisory string   `json:"advisory"`
		Notes    []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, f.Advisory)
		if len(f.Notes) == 0 {
			t.Errorf("%s: no note that source information was missing", f.Advisory)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("got %d advisories %v\nwant %d %v", len(got), got, len(want), want)
	}
}
