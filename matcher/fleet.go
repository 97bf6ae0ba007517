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
	// postings maps release, then package name ID, to the hosts that have
	// a package (binary or source) of that name.
	postings map[string]map[uint32][]uint32
}

type compactHost struct {
	host patchwatch.Host // every field but Packages
	pkgs []compactPackage
}

type compactPackage struct {
	name, version, sourceName, sourceVersion, arch, module uint32
}

// NewFleet returns an empty fleet.
func NewFleet() *Fleet {
	return &Fleet{ids: map[string]uint32{"": 0}, strs: []string{""}, byKey: map[string]int{}, postings: map[string]map[uint32][]uint32{}}
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
// Replaced hosts keep stale postings, which only cost a wasted candidate.
func (f *Fleet) Add(h *patchwatch.Host) int {
	c := compactHost{host: *h}
	c.host.Packages = nil
	c.pkgs = make([]compactPackage, len(h.Packages))
	for i, p := range h.Packages {
		c.pkgs[i] = compactPackage{f.intern(p.Name), f.intern(p.Version), f.intern(p.SourceName), f.intern(p.SourceVersion), f.intern(p.Arch), f.intern(p.Module)}
	}
	idx, ok := f.byKey[h.Name]
	if ok {
		f.hosts[idx] = c
	} else {
		idx = len(f.hosts)
		f.hosts = append(f.hosts, c)
		f.byKey[h.Name] = idx
	}
	for _, release := range HostReleases(h) {
		byName := f.postings[release]
		if byName == nil {
			byName = map[uint32][]uint32{}
			f.postings[release] = byName
		}
		for _, name := range LookupNames(h) {
			id := f.intern(name)
			list := byName[id]
			if n := len(list); n == 0 || list[n-1] != uint32(idx) {
				byName[id] = append(list, uint32(idx))
			}
		}
	}
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
	for _, fix := range a.Fixes {
		id, ok := f.ids[fix.Package]
		if !ok {
			continue
		}
		for _, h := range f.postings[fix.Release][id] {
			out = append(out, int(h))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
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
	names := map[uint32]bool{}
	for _, fix := range a.Fixes {
		if id, ok := f.ids[fix.Package]; ok {
			names[id] = true
		}
	}
	out := map[int][]patchwatch.Finding{}
	for _, i := range f.Candidates(a) {
		c := &f.hosts[i]
		mini := c.host
		for _, p := range c.pkgs {
			full := f.pkg(p)
			src, _ := sourceOf(&c.host, full)
			srcID, known := f.ids[src]
			if names[p.name] || names[p.sourceName] || known && names[srcID] ||
				patchwatch.IsRPMKernel(full.Name) || patchwatch.KernelABI(full.Name, src) != "" {
				mini.Packages = append(mini.Packages, full)
			}
		}
		if fs := ix.Match(&mini); len(fs) > 0 {
			out[i] = fs
		}
	}
	return out
}
