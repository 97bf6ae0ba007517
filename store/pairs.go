package store

import "github.com/patchwatch/patchwatch"

// BinaryPair is one (binary, source) pair of a release's binary map, as
// another implementation of the storage contract (store/postgres) learns
// it: the rules of what an inventory or an advisory teaches live here once.
type BinaryPair struct {
	Release, Binary, Source string
	// Tracks is false when the binary's version does not follow its
	// source's; such a pair is recorded and never used.
	Tracks bool
}

// HostBinaryPairs returns the pairs a host's inventory teaches.
func HostBinaryPairs(h *patchwatch.Host) []BinaryPair { return exportPairs(hostPairs(h)) }

// AdvisoryBinaryPairs returns the pairs an advisory's source fixes list.
func AdvisoryBinaryPairs(a *patchwatch.Advisory) []BinaryPair {
	return exportPairs(advisoryPairs(a))
}

func exportPairs(pairs []binaryPair) []BinaryPair {
	if len(pairs) == 0 {
		return nil
	}
	out := make([]BinaryPair, len(pairs))
	for i, p := range pairs {
		out[i] = BinaryPair{Release: p.release, Binary: p.binary, Source: p.source, Tracks: p.tracks}
	}
	return out
}

// IndexDigest hashes a host's (release, package) index set in the order
// given, so that a report repeating its inventory rewrites no index entry.
func IndexDigest(index []ReleasePackage) []byte { return indexDigest(index) }
