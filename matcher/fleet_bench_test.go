package matcher_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
)

// realFleet synthesizes a fleet at real scale from the real records'
// shapes: the full advisory history of USN, DSA/DLA and RHSA (10,000 +
// 9,000 + 30,000 advisories over seven releases), sources with 1-3
// binaries and ten versions each, and hosts built from 40 images of 1,500
// packages that are mostly current: 3% of each host's packages lag behind.
type realFleet struct {
	advisories []patchwatch.Advisory
	images     [][]patchwatch.Package
	imageSrc   [][]int // source number of each image package
	releases   []string
	rng        *rand.Rand
}

const fleetSources = 20000

func debVersion(src, n int) string {
	return fmt.Sprintf("%d.%d-%dubuntu0.%d", 1+src%9, src%13, 1+src%4, n)
}
func rpmEVR(src, n int) string {
	return fmt.Sprintf("%d:%d.%d-%d.el9_%d", src%3/2, 1+src%9, src%13, 10+n, n%6)
}

func newRealFleet() *realFleet {
	f := &realFleet{rng: rand.New(rand.NewPCG(7, 8))}
	f.releases = []string{"ubuntu:20.04", "ubuntu:22.04", "ubuntu:24.04", "debian:11", "debian:12", "rhel:8", "rhel:9"}
	add := func(prefix string, n int, releases []string, rpm bool) {
		for i := range n {
			a := patchwatch.Advisory{ID: fmt.Sprintf("%s-%d", prefix, i), Source: patchwatch.SourceUSN, Title: "t",
				Published: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 3 * time.Hour), Severity: patchwatch.Severity(1 + f.rng.IntN(5))}
			for range 1 + f.rng.IntN(3) {
				src := f.rng.IntN(fleetSources)
				rel := releases[f.rng.IntN(len(releases))]
				ver, kind, pkg := debVersion(src, 1+f.rng.IntN(9)), patchwatch.KindSource, fmt.Sprintf("src%d", src)
				if rpm {
					ver, kind, pkg = rpmEVR(src, 1+f.rng.IntN(9)), patchwatch.KindBinary, fmt.Sprintf("src%d-bin0", src)
				}
				a.Fixes = append(a.Fixes, patchwatch.Fix{Release: rel, Package: pkg, Kind: kind, FixedVersion: ver})
			}
			f.advisories = append(f.advisories, a)
		}
	}
	add("USN", 10000, f.releases[:3], false)
	add("DSA", 9000, f.releases[3:5], false)
	add("RHSA", 30000, f.releases[5:], true)
	// 40 images: 1,500 packages from the 6,000 most common sources.
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
				if rpm {
					v := rpmEVR(src, 10)
					pkgs = append(pkgs, patchwatch.Package{Name: name, Version: v, SourceName: fmt.Sprintf("src%d", src), SourceVersion: v, Arch: "x86_64"})
				} else {
					v := debVersion(src, 10)
					pkgs = append(pkgs, patchwatch.Package{Name: name, Version: v, SourceName: fmt.Sprintf("src%d", src), SourceVersion: v, Arch: "amd64"})
				}
			}
		}
		f.images = append(f.images, pkgs)
		f.imageSrc = append(f.imageSrc, srcs)
	}
	return f
}

// host builds host i: its image's packages, 3% of them at an older version.
func (f *realFleet) host(i int) *patchwatch.Host {
	img := i % len(f.images)
	release := f.releases[img%7]
	h := &patchwatch.Host{Name: fmt.Sprintf("vm%d", i), Release: release, Family: patchwatch.ReleaseFamily(release), SourceInfo: true, EpochInfo: true, ModuleInfo: true}
	h.Packages = make([]patchwatch.Package, len(f.images[img]))
	copy(h.Packages, f.images[img])
	rng := rand.New(rand.NewPCG(uint64(i), 9))
	for range 45 {
		k := rng.IntN(len(h.Packages))
		p := &h.Packages[k]
		src := f.imageSrc[img][k]
		if h.Family == patchwatch.FamilyRPM {
			p.Version = rpmEVR(src, rng.IntN(10))
		} else {
			p.Version = debVersion(src, rng.IntN(10))
		}
		p.SourceVersion = p.Version
	}
	return h
}

// BenchmarkRematchOneHost re-matches one host report of 1,500 packages
// against the full history (target: under 5 ms).
func BenchmarkRematchOneHost(b *testing.B) {
	f := newRealFleet()
	ix := matcher.NewIndex(f.advisories)
	hosts := []*patchwatch.Host{f.host(1), f.host(5), f.host(6)}
	b.ReportAllocs()
	findings := 0
	i := 0
	for b.Loop() {
		findings = len(ix.Match(hosts[i%3]))
		i++
	}
	b.ReportMetric(float64(findings), "findings")
}

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// benchFullEvaluation evaluates every host of an n-host fleet against the
// full history, two workers, and reports the fleet's memory.
func benchFullEvaluation(b *testing.B, n int) {
	f := newRealFleet()
	ix := matcher.NewIndex(f.advisories)
	before := heapMB()
	fleet := matcher.NewFleet()
	for i := range n {
		fleet.Add(f.host(i))
	}
	fleetMB := heapMB() - before
	b.ReportAllocs()
	var findings atomic.Int64
	for b.Loop() {
		findings.Store(0)
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		const chunk = 256
		for start := 0; start < n; start += chunk {
			g.Go(func() error {
				for i := start; i < min(start+chunk, n); i++ {
					findings.Add(int64(len(ix.Match(fleet.Host(i)))))
				}
				return nil
			})
		}
		g.Wait()
	}
	b.ReportMetric(float64(findings.Load()), "findings")
	b.ReportMetric(fleetMB, "fleet-MB")
}

// BenchmarkFullEvaluation10000 and ...100000: every host × 1,500 packages
// against the full history of USN + DSA + RHSA (target: under 30 s for
// 100,000 hosts on 2 cores).
func BenchmarkFullEvaluation10000(b *testing.B)  { benchFullEvaluation(b, 10000) }
func BenchmarkFullEvaluation100000(b *testing.B) { benchFullEvaluation(b, 100000) }

// BenchmarkNewAdvisory100000Hosts evaluates one new advisory, fixing a
// source that half the fleet's images carry, against 100,000 hosts
// through the fleet's package index (target: under 50 ms).
func BenchmarkNewAdvisory100000Hosts(b *testing.B) {
	f := newRealFleet()
	fleet := matcher.NewFleet()
	for i := range 100000 {
		fleet.Add(f.host(i))
	}
	// A source of the first Ubuntu 22.04 image, fixed in a version newer
	// than any installed.
	var src int
	fmt.Sscanf(f.images[1][0].SourceName, "src%d", &src)
	a := patchwatch.Advisory{ID: "USN-99999-1", Source: patchwatch.SourceUSN, Published: time.Now(), Severity: patchwatch.SeverityHigh,
		Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: f.images[1][0].SourceName, Kind: patchwatch.KindSource, FixedVersion: debVersion(src, 11)}}}
	b.ReportAllocs()
	hosts, candidates := 0, 0
	for b.Loop() {
		hosts = len(fleet.MatchAdvisory(&a, nil))
		candidates = len(fleet.Candidates(&a))
	}
	b.ReportMetric(float64(candidates), "candidates")
	b.ReportMetric(float64(hosts), "exposed-hosts")
}
