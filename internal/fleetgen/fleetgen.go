// Package fleetgen synthesizes fleets at real scale for the benchmarks,
// shaped like the real records: the full advisory history of USN, DSA/DLA
// and RHSA (10,000 + 9,000 + 30,000 advisories over seven releases),
// sources with 1-3 binaries and ten versions each, and hosts built from 40
// images of 1,500 packages that are mostly current (3% of each host's
// packages lag behind), mixing Ubuntu, Debian and RHEL hosts.
package fleetgen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/patchwatch/patchwatch"
)

// Fleet generates advisories and hosts deterministically.
type Fleet struct {
	Advisories []patchwatch.Advisory
	images     [][]patchwatch.Package
	imageSrc   [][]int // source number of each image package
	releases   []string
	// Owners is how many owners the hosts are spread over.
	Owners int
}

// Sources is the number of source packages advisories draw from.
const Sources = 20000

// DebVersion is version n of source src on Debian and Ubuntu.
func DebVersion(src, n int) string {
	return fmt.Sprintf("%d.%d-%dubuntu0.%d", 1+src%9, src%13, 1+src%4, n)
}

// RPMVersion is version n of source src on RHEL.
func RPMVersion(src, n int) string {
	return fmt.Sprintf("%d:%d.%d-%d.el9_%d", src%3/2, 1+src%9, src%13, 10+n, n%6)
}

// New returns the fleet generator with its advisories.
func New() *Fleet {
	rng := rand.New(rand.NewPCG(7, 8))
	f := &Fleet{Owners: 500, releases: []string{"ubuntu:20.04", "ubuntu:22.04", "ubuntu:24.04", "debian:11", "debian:12", "rhel:8", "rhel:9"}}
	add := func(prefix string, source patchwatch.Source, n int, releases []string, rpm bool) {
		for i := range n {
			published := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 3 * time.Hour)
			a := patchwatch.Advisory{ID: fmt.Sprintf("%s-%d-1", prefix, i), Source: source, Title: fmt.Sprintf("%s-%d: security update", prefix, i),
				Published: published, Modified: published, Severity: patchwatch.Severity(1 + rng.IntN(5)), CVEs: []string{fmt.Sprintf("CVE-%d-%d", 2015+i%10, 1000+i)}}
			for range 1 + rng.IntN(3) {
				src := rng.IntN(Sources)
				rel := releases[rng.IntN(len(releases))]
				ver, kind, pkg := DebVersion(src, 1+rng.IntN(9)), patchwatch.KindSource, fmt.Sprintf("src%d", src)
				if rpm {
					ver, kind, pkg = RPMVersion(src, 1+rng.IntN(9)), patchwatch.KindBinary, fmt.Sprintf("src%d-bin0", src)
				}
				a.Fixes = append(a.Fixes, patchwatch.Fix{Release: rel, Package: pkg, Kind: kind, FixedVersion: ver})
			}
			f.Advisories = append(f.Advisories, a)
		}
	}
	add("USN", patchwatch.SourceUSN, 10000, f.releases[:3], false)
	add("DSA", patchwatch.SourceDSA, 9000, f.releases[3:5], false)
	add("RHSA", patchwatch.SourceRHSA, 30000, f.releases[5:], true)
	for img := range 40 {
		rpm := img%7 >= 5
		var pkgs []patchwatch.Package
		var srcs []int
		for j := 0; len(pkgs) < 1500; j++ {
			src := (img*131 + j*7) % 6000
			for b := range 1 + src%3 {
				if len(pkgs) == 1500 {
					break
				}
				name := fmt.Sprintf("src%d-bin%d", src, b)
				srcs = append(srcs, src)
				v, arch := DebVersion(src, 10), "amd64"
				if rpm {
					v, arch = RPMVersion(src, 10), "x86_64"
				}
				pkgs = append(pkgs, patchwatch.Package{Name: name, Version: v, SourceName: fmt.Sprintf("src%d", src), SourceVersion: v, Arch: arch})
			}
		}
		f.images = append(f.images, pkgs)
		f.imageSrc = append(f.imageSrc, srcs)
	}
	return f
}

// Owner returns the owner of host i.
func (f *Fleet) Owner(i int) string { return fmt.Sprintf("owner%d@example.org", i%f.Owners) }

// Host builds host i: its image's packages, 3% of them at an older version.
func (f *Fleet) Host(i int, reportedAt time.Time) patchwatch.Host {
	img := i % len(f.images)
	release := f.releases[img%7]
	h := patchwatch.Host{Name: fmt.Sprintf("vm%06d", i), Owner: f.Owner(i), Release: release, Family: patchwatch.ReleaseFamily(release),
		OS: patchwatch.OSRelease{ID: "bench"}, SourceInfo: true, EpochInfo: true, ModuleInfo: true, ReportedAt: reportedAt}
	h.Packages = make([]patchwatch.Package, len(f.images[img]))
	copy(h.Packages, f.images[img])
	rng := rand.New(rand.NewPCG(uint64(i), 9))
	for range 45 {
		k := rng.IntN(len(h.Packages))
		p := &h.Packages[k]
		src := f.imageSrc[img][k]
		if h.Family == patchwatch.FamilyRPM {
			p.Version = RPMVersion(src, rng.IntN(10))
		} else {
			p.Version = DebVersion(src, rng.IntN(10))
		}
		p.SourceVersion = p.Version
	}
	return h
}

// NewAdvisory returns an advisory, published at, that fixes a source the
// first Ubuntu 22.04 image carries in a version newer than any installed:
// every host of that image is exposed.
func (f *Fleet) NewAdvisory(id string, at time.Time) patchwatch.Advisory {
	var src int
	fmt.Sscanf(f.images[1][0].SourceName, "src%d", &src)
	return patchwatch.Advisory{ID: id, Source: patchwatch.SourceUSN, Title: id + ": new vulnerability", Published: at, Modified: at,
		Severity: patchwatch.SeverityHigh, CVEs: []string{"CVE-2026-99999"},
		Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: f.images[1][0].SourceName, Kind: patchwatch.KindSource, FixedVersion: DebVersion(src, 11)}}}
}
