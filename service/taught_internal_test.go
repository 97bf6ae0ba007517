package service

import (
	"testing"

	"github.com/patchwatch/patchwatch"
)

// TestTaughtDigest: what an inventory teaches the binary map is its
// (binary, source, tracks) pairs on its releases: hosts of one image
// whose versions differ teach the same, a pair whose version stops
// following its source's or another release does not.
func TestTaughtDigest(t *testing.T) {
	var taught taughtInventories
	host := func(release, version, sourceVersion string) *patchwatch.Host {
		return &patchwatch.Host{Release: release, Family: patchwatch.ReleaseFamily(release), Packages: []patchwatch.Package{
			{Name: "libssl3", Version: version, SourceName: "openssl", SourceVersion: sourceVersion},
			{Name: "bash", Version: "5.2.15-2+b2", SourceName: "bash", SourceVersion: "5.2.15-2"},
		}}
	}
	first := taught.digest(host("debian:12", "3.0.11-1~deb12u2", "3.0.11-1~deb12u2"))
	taught.remember(first)
	if d := taught.digest(host("debian:12", "3.0.13-1~deb12u1", "3.0.13-1~deb12u1")); !taught.seen(d) {
		t.Error("a host whose versions differ teaches something new")
	}
	for name, h := range map[string]*patchwatch.Host{
		"a binary rebuilt on its own": host("debian:12", "3.0.11-1~deb12u2+b1x", "3.0.11-1~deb12u2"),
		"another release":             host("debian:11", "3.0.11-1~deb12u2", "3.0.11-1~deb12u2"),
	} {
		if taught.seen(taught.digest(h)) {
			t.Errorf("%s: taken for what was taught", name)
		}
	}
}
