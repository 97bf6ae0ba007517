package usn_test

import (
	"bytes"
	"testing"

	"github.com/patchwatch/patchwatch/feeds/usn"
)

// TestBinaryVersions: a binary whose binary_version is not the source
// fix's (as bsdutils 1:2.37.2-4ubuntu3.4 of util-linux 2.37.2-4ubuntu3.4)
// keeps its own fixed version; the others do not repeat it. The real
// USN-8259-1 record is altered in one binary_version for the test.
func TestBinaryVersions(t *testing.T) {
	data := readFile(t, "USN-8259-1.json")
	a, err := usn.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a[0].Fixes {
		if f.BinaryVersions != nil {
			t.Errorf("%s %s: binary versions %v where every binary has the fix's version", f.Release, f.Package, f.BinaryVersions)
		}
	}
	altered := bytes.Replace(data, []byte(`"binary_name": "libopenexr25",
            "binary_version": "2.5.7-1ubuntu0.1~esm2"`), []byte(`"binary_name": "libopenexr25",
            "binary_version": "1:2.5.7-1ubuntu0.1~esm2"`), 1)
	if bytes.Equal(altered, data) {
		t.Fatal("the record's layout changed: nothing altered")
	}
	if a, err = usn.Parse(altered); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range a[0].Fixes {
		if f.Release == "ubuntu:22.04" {
			found = true
			if len(f.BinaryVersions) != 1 || f.BinaryVersions["libopenexr25"] != "1:2.5.7-1ubuntu0.1~esm2" {
				t.Errorf("binary versions %v", f.BinaryVersions)
			}
		}
	}
	if !found {
		t.Fatal("no ubuntu:22.04 fix")
	}
}
