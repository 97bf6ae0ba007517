package matcher

import (
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/version"
)

// How a package without source information was matched, as
// FindingPackage.Via says it.
const (
	// ViaBinaryList: the advisory's fix lists the binary among those its
	// source builds (Ubuntu's ecosystem_specific.binaries).
	ViaBinaryList = "binary-list"
	// ViaBinaryMap: the release's binary → source map, learnt from the
	// inventories that carried source fields and from advisories that
	// name binaries, says which source builds the binary (Debian).
	ViaBinaryMap = "binary-map"
)

// Notes attached to findings matched without source information.
const (
	NoteBinaryList = "matched through the advisory's list of the binaries its source builds, comparing the binary's own version with the fixed source version"
	NoteBinaryMap  = "matched through the release's binary → source map (learnt from inventories that carried source fields), comparing the binary's own version with the fixed source version"
)

// binaryRef is one source fix that a binary-only package matches, and how.
type binaryRef struct {
	ref *fixRef
	via string
}

// indexBinaries records the binaries a source fix lists, so that a host
// without source information finds the fix by binary name.
func (ix *Index) indexBinaries(ref *fixRef) {
	f := ref.fix
	if f.Kind != patchwatch.KindSource || len(f.Binaries) == 0 {
		return
	}
	byBinary := ix.binaries[f.Release]
	if byBinary == nil {
		byBinary = make(map[string][]*fixRef)
		ix.binaries[f.Release] = byBinary
	}
	for _, b := range f.Binaries {
		if b == f.Package {
			continue
		}
		r := ref
		if v, ok := f.BinaryVersions[b]; ok {
			// The binary has a version of its own: compare with it.
			r = &fixRef{advisory: ref.advisory, fix: f, binaryFixed: v}
			r.fixed, r.fixedErr = version.ParseDeb(v)
		}
		byBinary[b] = append(byBinary[b], r)
	}
}

// AddBinarySources tells the index which source packages build each binary
// on release (binary name → source names), as learnt by the store from
// inventories that carried source fields. Match uses it only for packages
// without source information.
func (ix *Index) AddBinarySources(release string, sources map[string][]string) {
	if len(sources) == 0 {
		return
	}
	bySource := ix.learnt[release]
	if bySource == nil {
		bySource = make(map[string][]string, len(sources))
		ix.learnt[release] = bySource
	}
	for bin, srcs := range sources {
		for _, s := range srcs {
			if s != bin && !slices.Contains(bySource[bin], s) {
				bySource[bin] = append(bySource[bin], s)
			}
		}
	}
}

// binaryRefs returns the source fixes of release that a package without
// source information matches by its binary name: those whose advisory
// lists the binary, then those of the sources the learnt map names.
func (ix *Index) binaryRefs(h *patchwatch.Host, release string, p patchwatch.Package) []binaryRef {
	if p.SourceName != "" {
		return nil
	}
	var out []binaryRef
	for _, ref := range ix.binaries[release][p.Name] {
		out = append(out, binaryRef{ref, ViaBinaryList})
	}
	byPackage := ix.fixes[release]
	learnt := ix.learnt[release][p.Name]
	if h.Release != release {
		// A rebuild host matched against Red Hat's advisories: its own
		// release's map applies as well.
		learnt = append(slices.Clone(learnt), ix.learnt[h.Release][p.Name]...)
	}
	for _, src := range learnt {
		src, _ = kernelSource(h, src)
		for _, ref := range byPackage[src] {
			if ref.fix.Kind == patchwatch.KindSource && !slices.ContainsFunc(out, func(b binaryRef) bool { return b.ref == ref }) {
				out = append(out, binaryRef{ref, ViaBinaryMap})
			}
		}
	}
	return out
}

// matchBinaries matches package i of a Debian-family host, which has no
// source information, against the fixes found by its binary name. The
// binary's own version is compared with the fixed source version (or the
// binary's own fixed version, where the advisory gives one): binaries
// built from a source carry its version, and binNMUs (+bN) sort above it.
func (c *collector) matchBinaries(refs []binaryRef, i int, st *pkgState) {
	c.matchBinariesWith(refs, i, st, func(ref *fixRef) (patchwatch.Status, string, string, bool) {
		status, installed, note := judge(st, ref, false)
		return status, installed, note, true
	})
}

// matchBinariesRPM is matchBinaries for an rpm host: the fix's module
// stream must fit, and the binary's EVR is compared.
func (c *collector) matchBinariesRPM(h *patchwatch.Host, refs []binaryRef, i int, st *pkgState) {
	c.matchBinariesWith(refs, i, st, func(ref *fixRef) (patchwatch.Status, string, string, bool) {
		ok, moduleNote := moduleMatches(h, st, ref.fix.Module)
		if !ok {
			return "", "", "", false
		}
		status, installed, note := judgeRPM(h, st, ref)
		if note == "" {
			note = moduleNote
		}
		return status, installed, note, true
	})
}

// matchBinariesWith records each of refs that judge finds package i
// exposed to; judge's false means the fix does not apply at all.
func (c *collector) matchBinariesWith(refs []binaryRef, i int, st *pkgState, judge func(*fixRef) (patchwatch.Status, string, string, bool)) {
	for _, br := range refs {
		if c.seen(br.ref, i) {
			continue
		}
		status, installed, note, applies := judge(br.ref)
		if !applies {
			continue
		}
		if note == "" {
			note = NoteBinaryList
			if br.via == ViaBinaryMap {
				note = NoteBinaryMap
			}
		}
		c.add(br.ref, i, st, status, installed, br.ref.fix.Package, note)
		if status != "" {
			c.markVia(br.ref, br.via)
		}
	}
}

// markVia records how the package just added for ref's advisory matched.
func (c *collector) markVia(ref *fixRef, via string) {
	f := &c.out[c.finding(ref.advisory.ID)]
	f.Packages[len(f.Packages)-1].Via = via
}

// BinaryOnlyNames returns the names of h's packages that carry no source
// information, whose sources a store's learnt binary map can supply
// (Index.AddBinarySources). Red Hat's advisories usually list every binary
// rpm too, but not always (some name only the source rpm).
func BinaryOnlyNames(h *patchwatch.Host) []string {
	var names []string
	for _, p := range h.Packages {
		if p.SourceName == "" {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// kernelSource maps the signed kernel sources, which advisories do not
// name, to the kernel source they sign (Debian's "linux", Ubuntu's
// "linux-<flavour>"); ok is false for any other source.
func kernelSource(h *patchwatch.Host, src string) (string, bool) {
	rest, ok := strings.CutPrefix(src, "linux-signed")
	if !ok {
		return src, false
	}
	if strings.HasPrefix(h.Release, "debian:") {
		return "linux", true
	}
	return "linux" + rest, true
}
