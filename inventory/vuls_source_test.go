package inventory_test

import (
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/inventory"
)

// TestVulsWithoutSourceFields: a Vuls dpkg body of only package, status
// and version carries no source names, and the host says so; an empty
// ${Source} in the five-field query still means "same as the binary".
func TestVulsWithoutSourceFields(t *testing.T) {
	hd := inventory.VulsHeaders{Family: "ubuntu", Release: "22.04", ServerName: "v"}
	h, err := inventory.HostFromVuls(hd, []byte("libc6:amd64,ii ,2.35-0ubuntu3.1\nrc-only,rc ,1.0-1\n"), time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if h.SourceInfo || len(h.Packages) != 1 || h.Packages[0].SourceName != "" || h.Packages[0].Arch != "amd64" {
		t.Errorf("three fields: %+v", h)
	}
	h, err = inventory.HostFromVuls(hd, []byte("bash,ii ,5.1-6ubuntu1,,\nlibc6,ii ,2.35-0ubuntu3.1,glibc,2.35-0ubuntu3.1\n"), time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !h.SourceInfo || h.Packages[0].SourceName != "bash" || h.Packages[1].SourceName != "glibc" {
		t.Errorf("five fields: %+v", h)
	}
	if _, err := inventory.HostFromVuls(hd, []byte("a,ii \n"), time.Unix(0, 0)); err == nil {
		t.Error("two fields accepted")
	}
}
