package matcher_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/fleetgen"
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

// rpmFleet synthesizes RHEL-shaped data: binary fixes with explicit
// epochs on rhel:8 and rhel:9, hosts of n packages with epoch-carrying EVRs.
func rpmFleet(nAdvisories, nHosts, pkgsPerHost int) ([]patchwatch.Advisory, []*patchwatch.Host) {
	rng := rand.New(rand.NewPCG(3, 4))
	releases := []string{"rhel:8", "rhel:9"}
	// RHEL repositories hold some 20,000 binary package names; a host has 1,000.
	const nNames = 20000
	evr := func(n int) string { return fmt.Sprintf("%d:%d.%d.%d-%d.el9_%d", n%2, 1+n%5, n%11, n%7, 1+n%30, n%5) }
	advisories := make([]patchwatch.Advisory, nAdvisories)
	for i := range advisories {
		a := patchwatch.Advisory{ID: fmt.Sprintf("RHSA-2030:%05d", i), Source: patchwatch.SourceRHSA, Title: "bench",
			Published: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		for range 1 + rng.IntN(5) {
			a.Fixes = append(a.Fixes, patchwatch.Fix{Release: releases[rng.IntN(2)], Package: fmt.Sprintf("pkg%d", rng.IntN(nNames)),
				Kind: patchwatch.KindBinary, FixedVersion: evr(rng.IntN(300))})
		}
		advisories[i] = a
	}
	hosts := make([]*patchwatch.Host, nHosts)
	for i := range hosts {
		h := &patchwatch.Host{Name: fmt.Sprintf("vm%d", i), Release: releases[i%2], Family: patchwatch.FamilyRPM, EpochInfo: true, ModuleInfo: true, SourceInfo: true}
		start := rng.IntN(nNames)
		for j := range pkgsPerHost {
			name := fmt.Sprintf("pkg%d", (start+j)%nNames)
			h.Packages = append(h.Packages, patchwatch.Package{Name: name, Version: evr(rng.IntN(300)), Arch: "x86_64", SourceName: name})
		}
		hosts[i] = h
	}
	return advisories, hosts
}

// BenchmarkMatch1000RPMHosts matches 1,000 rpm hosts of 1,000 packages
// against 30,000 advisories.
func BenchmarkMatch1000RPMHosts(b *testing.B) {
	advisories, hosts := rpmFleet(30000, 1000, 1000)
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

// BenchmarkFleetMatch matches 1,000 hosts of the fleet benchmarks (40
// images, 3% of versions lagging, Ubuntu, Debian and RHEL) against the full
// history, one host at a time (Match) and with the tuple verdicts a full
// re-evaluation shares (MatchWith, the memo warm after the first pass).
// One iteration is the whole fleet.
func BenchmarkFleetMatch(b *testing.B) {
	gen := fleetgen.New()
	ix := matcher.NewIndex(gen.Advisories)
	hosts := make([]patchwatch.Host, 1000)
	for i := range hosts {
		hosts[i] = gen.Host(i, time.Time{})
	}
	b.Run("match", func(b *testing.B) {
		for b.Loop() {
			for i := range hosts {
				ix.Match(&hosts[i])
			}
		}
	})
	b.Run("verdicts", func(b *testing.B) {
		v := ix.NewVerdicts(0)
		for b.Loop() {
			for i := range hosts {
				ix.MatchWith(&hosts[i], v)
			}
		}
		b.ReportMetric(float64(v.Len()), "tuples")
	})
}
