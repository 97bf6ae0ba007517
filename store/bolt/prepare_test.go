package bolt_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// TestPreparedReportIDs: after a restart, a report's stored tuples and
// pairs are found ahead of its write, and a host whose index repeats one
// already written reuses its pair set; the package index stays exact as
// hosts gain and lose packages.
func TestPreparedReportIDs(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	pkg := func(name, version string) patchwatch.Package {
		return patchwatch.Package{Name: name, Version: version, Arch: "amd64", SourceName: name, SourceVersion: version}
	}
	host := func(name string, pkgs ...patchwatch.Package) patchwatch.Host {
		return patchwatch.Host{Name: name, Release: "debian:12", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: now, Packages: pkgs}
	}
	index := func(h *patchwatch.Host) []store.ReleasePackage {
		var out []store.ReleasePackage
		for _, p := range h.Packages {
			out = append(out, store.ReleasePackage{Release: h.Release, Package: p.Name})
		}
		return out
	}
	put := func(s *bolt.Store, h patchwatch.Host) []uint32 {
		t.Helper()
		ix := index(&h)
		ids, prepared, err := s.PrepareReport(ctx, &h, ix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyPreparedReport(ctx, h, ix, prepared, nil, false, now); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	base := []patchwatch.Package{pkg("bash", "5.2.15-2+b2"), pkg("sudo", "1.9.13p3-1+deb12u1"), pkg("curl", "7.88.1-10+deb12u5")}
	if got := put(s, host("a", base...)); slices.ContainsFunc(got, func(id uint32) bool { return id != 0 }) {
		t.Fatalf("the first host's tuples are known before their write: %v", got)
	}
	stored, err := s.HostTuplesNamed(ctx, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	// Reopened, with nothing cached: the IDs come from a read.
	if got := put(s, host("b", base...)); !reflect.DeepEqual(got, stored[0].IDs) {
		t.Errorf("b's prepared tuple IDs %v, want a's %v", got, stored[0].IDs)
	}
	// c's index is a's and b's (a newer curl): their pair set.
	lagging := slices.Clone(base)
	lagging[2] = pkg("curl", "7.88.1-10+deb12u6")
	if got := put(s, host("c", lagging...)); got[2] != 0 || got[0] != stored[0].IDs[0] {
		t.Errorf("c's prepared tuple IDs %v: want a new curl (0) and a's bash (%d)", got, stored[0].IDs[0])
	}
	// d adds a package; later c drops curl.
	put(s, host("d", append(slices.Clone(base), pkg("vim", "2:9.0.1378-2"))...))
	put(s, host("c", lagging[:2]...))
	put(s, host("e", base...))

	for pkgName, want := range map[string][]string{
		"bash": {"a", "b", "c", "d", "e"},
		"curl": {"a", "b", "d", "e"},
		"vim":  {"d"},
	} {
		got, err := s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: "debian:12", Package: pkgName}})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("hosts with %s: %v, want %v", pkgName, got, want)
		}
	}
}
