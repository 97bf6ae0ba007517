package matcher_test

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/version"
)

// genFleet draws a small random fleet and advisories over a few releases,
// sources, binaries and versions, deb or rpm.
func genFleet(t *rapid.T) ([]patchwatch.Advisory, []*patchwatch.Host) {
	rpm := rapid.Bool().Draw(t, "rpm")
	releases := []string{"ubuntu:22.04", "debian:12"}
	versions := []string{"1.0-1", "1.0-2", "1.0-2+deb12u1", "1.1~rc1-1", "1:0.9-1", "2.0-1ubuntu0.1"}
	if rpm {
		releases = []string{"rhel:9", "rhel-eus:9.2"}
		versions = []string{"0:1.0-1.el9", "0:1.0-2.el9", "0:1.0-2.el9_2.1", "1:0.9-1.el9", "0:1.1~rc1-1.el9", "0:1.0-10.el9"}
	}
	pkgName := func(t *rapid.T, label string) string { return fmt.Sprintf("p%d", rapid.IntRange(0, 5).Draw(t, label)) }
	var advisories []patchwatch.Advisory
	for i := range rapid.IntRange(1, 8).Draw(t, "advisories") {
		a := patchwatch.Advisory{ID: fmt.Sprintf("ADV-%d", i), Source: patchwatch.SourceUSN, Published: time.Unix(0, 0)}
		for j := range rapid.IntRange(1, 3).Draw(t, "fixes") {
			kind := patchwatch.KindSource
			if rpm || rapid.Bool().Draw(t, "binary") {
				kind = patchwatch.KindBinary
			}
			a.Fixes = append(a.Fixes, patchwatch.Fix{Release: rapid.SampledFrom(releases).Draw(t, "release"), Package: pkgName(t, fmt.Sprint("fixpkg", j)),
				Kind: kind, FixedVersion: rapid.SampledFrom(versions).Draw(t, "fixed")})
		}
		advisories = append(advisories, a)
	}
	var hosts []*patchwatch.Host
	for i := range rapid.IntRange(1, 6).Draw(t, "hosts") {
		release := rapid.SampledFrom(releases).Draw(t, "hostrelease")
		h := &patchwatch.Host{Name: fmt.Sprintf("h%d", i), Release: release, Family: patchwatch.ReleaseFamily(release), SourceInfo: true, EpochInfo: true, ModuleInfo: true}
		seen := map[string]bool{}
		for j := range rapid.IntRange(0, 6).Draw(t, "pkgs") {
			name := pkgName(t, fmt.Sprint("bin", j))
			if seen[name] {
				continue
			}
			seen[name] = true
			v := rapid.SampledFrom(versions).Draw(t, "version")
			h.Packages = append(h.Packages, patchwatch.Package{Name: name, Version: v, SourceName: pkgName(t, fmt.Sprint("src", j)), SourceVersion: v})
		}
		hosts = append(hosts, h)
	}
	return advisories, hosts
}

// bruteForce decides every (host, advisory) pair directly.
func bruteForce(advisories []patchwatch.Advisory, h *patchwatch.Host) []string {
	var out []string
	for _, a := range advisories {
		exposed := false
		for _, f := range a.Fixes {
			if f.Release != h.Release {
				continue
			}
			for _, p := range h.Packages {
				name := p.Name
				if f.Kind == patchwatch.KindSource {
					name = p.SourceName
				}
				if name != f.Package {
					continue
				}
				var c int
				var err error
				if h.Family == patchwatch.FamilyRPM {
					c, err = version.CompareRPM(p.Version, f.FixedVersion)
				} else {
					v := p.Version
					if f.Kind == patchwatch.KindSource {
						v = p.SourceVersion
					}
					c, err = version.CompareDeb(v, f.FixedVersion)
				}
				if err == nil && c < 0 {
					exposed = true
				}
			}
		}
		if exposed {
			out = append(out, a.ID)
		}
	}
	slices.Sort(out)
	return out
}

func ids(fs []patchwatch.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Advisory)
	}
	slices.Sort(out)
	return out
}

// TestIndexedMatcherAgreesWithBruteForce: on random fleets, the indexed
// matcher, matching each advisory alone (as the service's incremental
// re-evaluation of changed advisories does) and a brute-force computation
// give the same (host, advisory) pairs.
func TestIndexedMatcherAgreesWithBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		advisories, hosts := genFleet(t)
		ix := matcher.NewIndex(advisories)
		for _, h := range hosts {
			want := bruteForce(advisories, h)
			if got := ids(ix.Match(h)); !slices.Equal(got, want) {
				t.Fatalf("host %s: indexed %v, brute force %v", h.Name, got, want)
			}
			var got []string
			for i := range advisories {
				one := matcher.NewIndex(advisories[i : i+1])
				for _, r := range releasesOf(advisories) {
					one.MarkRelease(r)
				}
				got = append(got, ids(one.Match(h))...)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("host %s per advisory: %v, brute force %v", h.Name, got, want)
			}
		}
	})
}

func releasesOf(advisories []patchwatch.Advisory) []string {
	var out []string
	for _, a := range advisories {
		for _, f := range a.Fixes {
			out = append(out, f.Release)
		}
	}
	return out
}

// genKernelFleet is genFleet with binary-only packages (about one in
// binaryEvery+1), unlabelled modules and Debian 12 kernels on some hosts
// (with a signed image and a meta package when metas), the same kernel
// tuple running on some hosts and installed beside a newer one on others,
// and kernel fixes in some advisories.
func genKernelFleet(t *rapid.T, binaryEvery int, metas bool) ([]patchwatch.Advisory, []*patchwatch.Host) {
	advisories, hosts := genFleet(t)
	for _, h := range hosts {
		h.ModuleInfo = rapid.Bool().Draw(t, "moduleinfo")
		for j := range h.Packages {
			if rapid.IntRange(0, binaryEvery).Draw(t, "binaryonly") == 0 {
				h.Packages[j].SourceName, h.Packages[j].SourceVersion = "", ""
			}
		}
		if h.Family != patchwatch.FamilyDebian || !rapid.Bool().Draw(t, "kernel") {
			continue
		}
		v := rapid.SampledFrom([]string{"1.0-1", "1.0-2"}).Draw(t, "kernelversion")
		h.Packages = append(h.Packages, patchwatch.Package{Name: "linux-image-6.1.0-1-amd64", Version: v, SourceName: "linux", SourceVersion: v})
		if metas {
			h.Packages = append(h.Packages,
				patchwatch.Package{Name: "linux-image-amd64", Version: "6.1.1", SourceName: "linux-signed-amd64", SourceVersion: "6.1.1"},
				patchwatch.Package{Name: "linux-headers-amd64", Version: "6.1.1", SourceName: "linux-meta", SourceVersion: "6.1.1"})
		}
		if rapid.Bool().Draw(t, "newerkernel") {
			h.Packages = append(h.Packages, patchwatch.Package{Name: "linux-image-6.1.0-2-amd64", Version: "1.0-3", SourceName: "linux", SourceVersion: "1.0-3"})
		}
		h.KernelRelease = fmt.Sprintf("6.1.0-%d-amd64", rapid.IntRange(1, 2).Draw(t, "running"))
		h.Release = "debian:12"
	}
	for i := range advisories {
		if rapid.Bool().Draw(t, "kerneladvisory") {
			advisories[i].Fixes = append(advisories[i].Fixes, patchwatch.Fix{Release: "debian:12", Package: "linux", Kind: patchwatch.KindSource, FixedVersion: "1.0-2"})
		}
	}
	return advisories, hosts
}

// TestVerdictsAgreeWithMatch: matching with a memo of tuple verdicts
// shared by the whole fleet (hosts with kernels, binary-only packages and
// unlabelled modules among them, matched twice so that the second pass
// reads every verdict from the memo) gives exactly Match's findings.
func TestVerdictsAgreeWithMatch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		advisories, hosts := genKernelFleet(t, 5, false)
		ix := matcher.NewIndex(advisories)
		memo := ix.NewVerdicts(rapid.IntRange(0, 8).Draw(t, "limit"))
		for pass := range 2 {
			for _, h := range hosts {
				want := ix.Match(h)
				if got := ix.MatchWith(h, memo); !reflect.DeepEqual(got, want) {
					t.Fatalf("pass %d, host %s: with verdicts %+v, Match %+v", pass, h.Name, got, want)
				}
			}
		}
		// Hosts matched concurrently share a fresh memo (run with -race).
		shared := ix.NewVerdicts(0)
		got := make([][]patchwatch.Finding, len(hosts))
		var wg sync.WaitGroup
		for i, h := range hosts {
			wg.Go(func() { got[i] = ix.MatchWith(h, shared) })
		}
		wg.Wait()
		for i, h := range hosts {
			if want := ix.Match(h); !reflect.DeepEqual(got[i], want) {
				t.Fatalf("concurrent, host %s: with verdicts %+v, Match %+v", h.Name, got[i], want)
			}
		}
		// A memo made for another index is not used.
		other := matcher.NewIndex(nil)
		for _, h := range hosts {
			if got, want := other.MatchWith(h, memo), other.Match(h); !reflect.DeepEqual(got, want) {
				t.Fatalf("host %s: foreign memo %+v, Match %+v", h.Name, got, want)
			}
		}
	})
}

// TestTupleViewAgreesWithMatch: matching hosts by tuple ID, leaving out
// the packages their view calls skippable (as the full re-evaluation
// does), gives exactly Match's findings on the whole host, whether the
// memo learnt a tuple by ID or by name first.
func TestTupleViewAgreesWithMatch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		advisories, hosts := genKernelFleet(t, 7, true)
		ids := map[patchwatch.Package]uint32{}
		idsOf := func(h *patchwatch.Host) []uint32 {
			out := make([]uint32, len(h.Packages))
			for i, p := range h.Packages {
				if ids[p] == 0 {
					ids[p] = uint32(len(ids) + 1)
				}
				out[i] = ids[p]
			}
			return out
		}
		ix := matcher.NewIndex(advisories)
		memo := ix.NewVerdicts(rapid.IntRange(0, 64).Draw(t, "limit"))
		for pass := range 3 {
			for _, h := range hosts {
				want := ix.Match(h)
				if rapid.IntRange(0, 3).Draw(t, "byname") == 0 {
					if got := ix.MatchWith(h, memo); !reflect.DeepEqual(got, want) {
						t.Fatalf("pass %d, host %s: by name %+v, Match %+v", pass, h.Name, got, want)
					}
					continue
				}
				all := idsOf(h)
				sparse := *h
				sparse.Packages = nil
				var kept []uint32
				view := ix.View(h, memo)
				for i, id := range all {
					if !view.Skippable(id) {
						sparse.Packages = append(sparse.Packages, h.Packages[i])
						kept = append(kept, id)
					}
				}
				view.Close()
				if got := ix.MatchTuples(&sparse, kept, memo); !reflect.DeepEqual(got, want) {
					t.Fatalf("pass %d, host %s: by tuple, %d of %d packages, %+v, Match %+v", pass, h.Name, len(kept), len(all), got, want)
				}
			}
		}
	})
}

// TestMayConcern: a host matched against an index with only the packages
// the index may concern gives exactly the whole host's findings.
func TestMayConcern(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		advisories, hosts := genKernelFleet(t, 7, true)
		ix := matcher.NewIndex(rapid.SliceOfDistinct(rapid.SampledFrom(append(advisories, patchwatch.Advisory{ID: "none"})), func(a patchwatch.Advisory) string { return a.ID }).Draw(t, "changed"))
		for _, h := range hosts {
			part := *h
			part.Packages = nil
			for _, p := range h.Packages {
				if ix.MayConcern([]byte(p.Name), []byte(p.SourceName)) {
					part.Packages = append(part.Packages, p)
				}
			}
			if got, want := ix.Match(&part), ix.Match(h); !reflect.DeepEqual(got, want) {
				t.Fatalf("host %s: %d of %d packages give %+v, the whole host %+v", h.Name, len(part.Packages), len(h.Packages), got, want)
			}
		}
	})
}
