package matcher

import (
	"slices"

	"github.com/patchwatch/patchwatch"
)

// Fleet holds every host compactly (package strings interned, 24 bytes a
// package) and indexes them by release and package name, so that a new or
// changed advisory is evaluated against only the hosts that have its
// packages, and a full evaluation streams hosts through the Index.
// Memory grows linearly with hosts × packages. A Fleet is not safe for
// concurrent Add; Host and Candidates may run concurrently once built.
type Fleet struct {
	strs  []string
	ids   map[string]uint32
	hosts []compactHost
	byKey map[string]int // host name -> index
	// postings maps release, then package name ID, to the (host, package)
	// pairs whose binary or source has that name.
	postings map[string]map[uint32][]posting
}

type posting struct{ host, pkg uint32 }

type compactHost struct {
	host patchwatch.Host // every field but Packages
	pkgs []compactPackage
	// kernels are the indices of kernel packages, which decide what runs.
	kernels []uint32
}

type compactPackage struct {
	name, version, sourceName, sourceVersion, arch, module uint32
}

// NewFleet returns an empty fleet.
func NewFleet() *Fleet {
	return &Fleet{ids: map[string]uint32{"": 0}, strs: []string{""}, byKey: map[string]int{}, postings: map[string]map[uint32][]posting{}}
}

func (f *Fleet) intern(s string) uint32 {
	if id, ok := f.ids[s]; ok {
		return id
	}
	id := uint32(len(f.strs))
	f.strs = append(f.strs, s)
	f.ids[s] = id
	return id
}

// Len returns the number of hosts.
func (f *Fleet) Len() int { return len(f.hosts) }

// Add stores a host, replacing one of the same name, and returns its index.
// A replaced host keeps its old postings, which only cost a wasted
// candidate: the new ones are added beside them.
func (f *Fleet) Add(h *patchwatch.Host) int {
	c := compactHost{host: *h}
	c.host.Packages = nil
	c.pkgs = make([]compactPackage, len(h.Packages))
	for i, p := range h.Packages {
		c.pkgs[i] = compactPackage{f.intern(p.Name), f.intern(p.Version), f.intern(p.SourceName), f.intern(p.SourceVersion), f.intern(p.Arch), f.intern(p.Module)}
	}
	idx, ok := f.byKey[h.Name]
	if !ok {
		idx = len(f.hosts)
		f.hosts = append(f.hosts, compactHost{})
		f.byKey[h.Name] = idx
	}
	releases := HostReleases(h)
	for j, p := range h.Packages {
		src, _ := sourceOf(h, p)
		if patchwatch.IsRPMKernel(p.Name) || patchwatch.KernelABI(p.Name, src) != "" {
			c.kernels = append(c.kernels, uint32(j))
		}
		for _, release := range releases {
			byName := f.postings[release]
			if byName == nil {
				byName = map[uint32][]posting{}
				f.postings[release] = byName
			}
			names := [2]uint32{c.pkgs[j].name, f.intern(src)}
			for k, id := range names {
				if k == 1 && id == names[0] {
					break
				}
				byName[id] = append(byName[id], posting{uint32(idx), uint32(j)})
			}
		}
	}
	f.hosts[idx] = c
	return idx
}

// HostReleases returns the releases whose advisories may concern h: its
// own and, for the RHEL rebuilds, Red Hat's.
func HostReleases(h *patchwatch.Host) []string {
	if rhel := patchwatch.RHSARelease(h.Release); rhel != h.Release {
		return []string{h.Release, rhel}
	}
	return []string{h.Release}
}

// Host rebuilds host i with all its packages.
func (f *Fleet) Host(i int) *patchwatch.Host {
	c := &f.hosts[i]
	h := c.host
	h.Packages = make([]patchwatch.Package, len(c.pkgs))
	for j, p := range c.pkgs {
		h.Packages[j] = f.pkg(p)
	}
	return &h
}

func (f *Fleet) pkg(p compactPackage) patchwatch.Package {
	return patchwatch.Package{Name: f.strs[p.name], Version: f.strs[p.version], SourceName: f.strs[p.sourceName],
		SourceVersion: f.strs[p.sourceVersion], Arch: f.strs[p.arch], Module: f.strs[p.module]}
}

// Candidates returns, in order, the hosts that have a package an
// advisory's fixes name, on the fix's release.
func (f *Fleet) Candidates(a *patchwatch.Advisory) []int {
	var out []int
	for h := range f.candidatePackages(a) {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// candidatePackages maps each candidate host to the indices of its
// packages the advisory names.
func (f *Fleet) candidatePackages(a *patchwatch.Advisory) map[int][]uint32 {
	out := map[int][]uint32{}
	for _, fix := range a.Fixes {
		// A host without source information is posted under its binary
		// names, which a source fix may list.
		for _, name := range append([]string{fix.Package}, fix.Binaries...) {
			id, ok := f.ids[name]
			if !ok {
				continue
			}
			for _, p := range f.postings[fix.Release][id] {
				out[int(p.host)] = append(out[int(p.host)], p.pkg)
			}
		}
	}
	return out
}

// MatchAdvisory evaluates one new or changed advisory against the hosts
// that have its packages, giving each only the packages the advisory names
// (and its kernels, which decide what runs). ownReleases names the
// releases whose own advisories are available (for RHEL rebuilds; see
// Index.MarkRelease). It returns the findings by host index.
func (f *Fleet) MatchAdvisory(a *patchwatch.Advisory, ownReleases map[string]bool) map[int][]patchwatch.Finding {
	ix := NewIndex([]patchwatch.Advisory{*a})
	for r := range ownReleases {
		ix.MarkRelease(r)
	}
	out := map[int][]patchwatch.Finding{}
	for i, pkgs := range f.candidatePackages(a) {
		c := &f.hosts[i]
		mini := c.host
		idx := append(slices.Clone(pkgs), c.kernels...)
		slices.Sort(idx)
		idx = slices.Compact(idx)
		mini.Packages = make([]patchwatch.Package, len(idx))
		n := 0
		for _, j := range idx {
			if int(j) < len(c.pkgs) { // a posting of a replaced inventory may point past the end
				mini.Packages[n] = f.pkg(c.pkgs[j])
				n++
			}
		}
		mini.Packages = mini.Packages[:n]
		if fs := ix.Match(&mini); len(fs) > 0 {
			out[i] = fs
		}
	}
	return out
}
