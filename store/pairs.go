package store

import (
	"crypto/sha256"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// BinaryPair is one (binary, source) pair of a release's binary map. The
// rules of what an inventory or an advisory teaches live here once, for
// every implementation of the storage contract.
type BinaryPair struct {
	Release, Binary, Source string
	// Tracks is false when the binary's version does not follow its
	// source's; such a pair is recorded and never used.
	Tracks bool
}

// versionTracks reports whether a binary's version follows its source's.
// Signed kernel images carry the kernel's version, not their signing
// source's (linux-image-6.1.0-31-amd64 6.1.129-1 from linux-signed-amd64
// 6.1.129+1), and matching compares them with the kernel source's fixes
// by that version: they track.
func versionTracks(source, binaryVersion, sourceVersion string) bool {
	if binaryVersion == sourceVersion || strings.HasPrefix(source, "linux-signed") {
		return true
	}
	rest, ok := strings.CutPrefix(binaryVersion, sourceVersion+"+b")
	if !ok || rest == "" {
		return false
	}
	return strings.Trim(rest, "0123456789") == ""
}

// HostBinaryPairs returns the pairs a host's inventory teaches: every
// package whose source name differs from its own. Hosts without source
// fields teach nothing.
func HostBinaryPairs(h *patchwatch.Host) []BinaryPair {
	var out []BinaryPair
	for _, r := range TeachingReleases(h) {
		for i := range h.Packages {
			p := &h.Packages[i]
			if p.SourceName == "" || p.SourceName == p.Name {
				continue
			}
			out = append(out, BinaryPair{Release: r, Binary: p.Name, Source: p.SourceName, Tracks: PairTracksVersion(p)})
		}
	}
	return out
}

// TeachingReleases returns the releases whose map a host's inventory
// teaches: its own and, for a rebuild, RHEL's (it builds its binaries from
// the same sources).
func TeachingReleases(h *patchwatch.Host) []string {
	if rhel := patchwatch.RHSARelease(h.Release); h.Family == patchwatch.FamilyRPM && rhel != h.Release {
		return []string{h.Release, rhel}
	}
	return []string{h.Release}
}

// PairTracksVersion reports whether an installed binary's version follows
// its source's.
func PairTracksVersion(p *patchwatch.Package) bool {
	srcVer := p.SourceVersion
	if srcVer == "" {
		srcVer = p.Version
	}
	return versionTracks(p.SourceName, p.Version, srcVer)
}

// AdvisoryBinaryPairs returns the pairs an advisory's source fixes list;
// those whose binary has a fixed version of its own do not track.
func AdvisoryBinaryPairs(a *patchwatch.Advisory) []BinaryPair {
	var out []BinaryPair
	for _, f := range a.Fixes {
		if f.Kind != patchwatch.KindSource || patchwatch.ReleaseFamily(f.Release) != patchwatch.FamilyDebian {
			continue
		}
		for _, b := range f.Binaries {
			if b != f.Package {
				// A binary with a fixed version of its own does not follow
				// its source's.
				_, own := f.BinaryVersions[b]
				out = append(out, BinaryPair{Release: f.Release, Binary: b, Source: f.Package, Tracks: !own})
			}
		}
	}
	return out
}

// IndexDigest hashes a host's (release, package) index set in the order
// given, so that a report repeating its inventory rewrites no index entry.
func IndexDigest(index []ReleasePackage) []byte {
	h := sha256.New()
	// Written in blocks: a Write per name converts (and allocates) each.
	buf := make([]byte, 0, 4096)
	for _, rp := range index {
		buf = append(append(append(append(buf, rp.Release...), 0), rp.Package...), 0)
		if len(buf) >= 3584 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	return h.Sum(nil)
}
