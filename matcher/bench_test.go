package matcher_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
)

// fleet synthesizes advisories and hosts at the scale the issues name,
// shaped like Ubuntu data: sources with 1-4 binaries, Ubuntu-style versions,
// advisories fixing 1-3 sources on one of three releases.
func fleet(nAdvisories, nHosts, pkgsPerHost int, releases ...string) ([]patchwatch.Advisory, []*patchwatch.Host) {
	rng := rand.New(rand.NewPCG(1, 2))
	if len(releases) == 0 {
		releases = []string{"ubuntu:20.04", "ubuntu:22.04", "ubuntu:24.04"}
	}
	const nSources = 6000
	ver := func(n int) string { return fmt.Sprintf("1.%d.%d-0ubuntu%d.%d", n%7, n%13, 1+n%3, n%20) }
	advisories := make([]patchwatch.Advisory, nAdvisories)
	for i := range advisories {
		a := patchwatch.Advisory{ID: fmt.Sprintf("USN-%d-1", i+1), Source: patchwatch.SourceUSN, Title: "bench",
			Published: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour), Severity: patchwatch.Severity(rng.IntN(6))}
		for range 1 + rng.IntN(3) {
			a.Fixes = append(a.Fixes, patchwatch.Fix{Release: releases[rng.IntN(len(releases))], Package: fmt.Sprintf("src%d", rng.IntN(nSources)),
				Kind: patchwatch.KindSource, FixedVersion: ver(rng.IntN(400))})
		}
		advisories[i] = a
	}
	hosts := make([]*patchwatch.Host, nHosts)
	for i := range hosts {
		h := &patchwatch.Host{Name: fmt.Sprintf("vm%d", i), Release: releases[i%len(releases)], Family: patchwatch.FamilyDebian, SourceInfo: true}
		start := rng.IntN(nSources)
		for j := 0; len(h.Packages) < pkgsPerHost; j++ {
			src := fmt.Sprintf("src%d", (start+j)%nSources)
			v := ver(rng.IntN(400))
			for k := range 1 + rng.IntN(4) {
				if len(h.Packages) == pkgsPerHost {
					break
				}
				h.Packages = append(h.Packages, patchwatch.Package{Name: fmt.Sprintf("%s-bin%d", src, k), Version: v, SourceName: src, SourceVersion: v, Arch: "amd64"})
			}
		}
		hosts[i] = h
	}
	return advisories, hosts
}

// BenchmarkMatch1000Hosts matches 1,000 hosts of 1,500 packages against
// 10,000 advisories. One iteration is the whole fleet.
func BenchmarkMatch1000Hosts(b *testing.B) {
	advisories, hosts := fleet(10000, 1000, 1500)
	ix := matcher.NewIndex(advisories)
	b.ReportAllocs()
	findings := 0
	for b.Loop() {
		findings = 0
		for _, h := range hosts {
			findings += len(ix.Match(h))
		}
	}
	b.ReportMetric(float64(findings), "findings")
}

// BenchmarkMatch1000DebianHosts matches 1,000 Debian hosts of 1,500
// packages against 9,000 advisories, the size of the DSA and DLA lists.
func BenchmarkMatch1000DebianHosts(b *testing.B) {
	advisories, hosts := fleet(9000, 1000, 1500, "debian:10", "debian:11", "debian:12")
	ix := matcher.NewIndex(advisories)
	b.ReportAllocs()
	for b.Loop() {
		for _, h := range hosts {
			ix.Match(h)
		}
	}
}

// BenchmarkIndex10000 builds the index of 10,000 advisories.
func BenchmarkIndex10000(b *testing.B) {
	advisories, _ := fleet(10000, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		matcher.NewIndex(advisories)
	}
}
