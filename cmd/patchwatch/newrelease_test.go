package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// A host on a release newer than patchwatch's tables (Ubuntu 26.10) is
// accepted from its os-release, and matched as soon as an advisory names
// the release.
func TestNewerReleaseAcceptedAndMatched(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	// The real USN-5614-1 (wayland), as its OSV record would read once
	// Canonical adds the new release: the 20.04 entry renamed.
	rec, err := os.ReadFile("../../samples/usn/USN-5614-1.json")
	if err != nil {
		t.Fatal(err)
	}
	rec = bytes.Replace(rec, []byte(`"Ubuntu:20.04:LTS"`), []byte(`"Ubuntu:26.10"`), 1)
	advisory := filepath.Join(dir, "USN-5614-1.json")
	osRelease := filepath.Join(dir, "os-release")
	os.WriteFile(advisory, rec, 0o644)
	os.WriteFile(osRelease, []byte("PRETTY_NAME=\"Ubuntu 26.10\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"26.10\"\nVERSION=\"26.10\"\nID=ubuntu\nID_LIKE=debian\n"), 0o644)

	r := run(t, db, "host", "import", "--name", "next", "--owner", "owner@example.org", "--os-release", osRelease,
		"--kernel-release", "5.4.0-1058-bluefield", "../../samples/hosts/focal-bluefield.dpkg-query.tsv")
	if r.err != nil {
		t.Fatalf("host import of a 26.10 host: %v\n%s", r.err, r.stderr)
	}
	if r := run(t, db, "import", advisory); r.err != nil {
		t.Fatalf("import: %v\n%s", r.err, r.stdout)
	}
	r = run(t, db, "outstanding", "--host", "next", "--format", "json")
	var findings []struct {
		Advisory string `json:"advisory"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil {
		t.Fatalf("outstanding: %v %s", err, r.stdout)
	}
	if len(findings) != 1 || findings[0].Advisory != "USN-5614-1" {
		t.Errorf("findings on the 26.10 host = %+v, want USN-5614-1", findings)
	}
}
