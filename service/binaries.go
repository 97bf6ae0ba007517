package service

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/store"
)

// binarySources looks up, in the store's binary map, the sources that build
// the packages of h that carry no source information, and returns those
// whose versions track by release, together with names extended by every
// source (so that their advisories, and the binary lists in them, are
// fetched).
func (e *Service) binarySources(ctx context.Context, h *patchwatch.Host, names []string) (map[string]map[string][]string, []string, error) {
	binaries := matcher.BinaryOnlyNames(h)
	if len(binaries) == 0 {
		return nil, names, nil
	}
	learnt := map[string]map[string][]string{}
	for _, release := range matcher.HostReleases(h) {
		sources, untracked, err := e.s.BinarySources(ctx, release, binaries)
		if err != nil {
			return nil, nil, fmt.Errorf("look up binary sources for %s: %w", h.Name, err)
		}
		learnt[release] = sources
		for _, m := range []map[string][]string{sources, untracked} {
			for _, srcs := range m {
				names = append(names, srcs...)
			}
		}
	}
	return learnt, names, nil
}

// learnBinarySources feeds the binary map from a host that carried source
// fields and re-evaluates the binary-only hosts that have a binary the map
// did not know before.
func (e *Service) learnBinarySources(ctx context.Context, h *patchwatch.Host) error {
	if !teaches(h) {
		return nil
	}
	digest := e.taught.digest(h)
	if e.taught.seen(digest) {
		return nil
	}
	fresh, err := e.s.LearnBinarySources(ctx, h)
	if err != nil {
		return err
	}
	e.taught.remember(digest)
	if len(fresh) == 0 {
		return nil
	}
	names, err := e.s.HostsWithPackages(ctx, fresh)
	if err != nil {
		return err
	}
	for _, name := range names {
		if name == h.Name {
			continue
		}
		// Most hosts name every package's source: their record says so,
		// and their inventories need not be read.
		if rec, err := e.s.HostRecord(ctx, name); errors.Is(err, store.ErrNotFound) || err == nil && rec.SourcesKnown {
			continue
		} else if err != nil {
			return err
		}
		other, err := e.s.Host(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return err
		}
		if len(matcher.BinaryOnlyNames(&other)) == 0 {
			continue
		}
		if _, err := e.Sync(ctx, &other); err != nil {
			return fmt.Errorf("re-evaluate %s: %w", name, err)
		}
	}
	return nil
}

// withBinaries adds to the (release, package) pairs of changed advisories
// the binaries their fixes list and those the binary map knows for their
// sources, under which binary-only hosts are indexed.
func (e *Service) withBinaries(ctx context.Context, changed []patchwatch.Advisory, pairs []store.ReleasePackage) ([]store.ReleasePackage, error) {
	var sources []store.ReleasePackage
	for _, a := range changed {
		for _, f := range a.Fixes {
			if f.Kind != patchwatch.KindSource {
				continue
			}
			sources = append(sources, store.ReleasePackage{Release: f.Release, Package: f.Package})
			for _, b := range f.Binaries {
				pairs = append(pairs, store.ReleasePackage{Release: f.Release, Package: b})
			}
		}
	}
	built, err := e.s.BinariesBuilt(ctx, sources)
	if err != nil {
		return nil, err
	}
	return append(pairs, built...), nil
}

// addLearntSources gives ix what the binary map knows of the sources that
// build h's binary-only packages. ix is shared by the hosts of one job: the
// map is the release's, so adding one host's part never changes another's
// result. Callers must not run it while ix is being matched concurrently.
func (e *Service) addLearntSources(ctx context.Context, ix *matcher.Index, h *patchwatch.Host) error {
	learnt, _, err := e.binarySources(ctx, h, nil)
	if err != nil {
		return err
	}
	for release, sources := range learnt {
		ix.AddBinarySources(release, sources)
	}
	return nil
}

// binaryOnly reports whether any of h's packages carries no source
// information.
func binaryOnly(h *patchwatch.Host) bool {
	for i := range h.Packages {
		if h.Packages[i].SourceName == "" {
			return true
		}
	}
	return false
}

// teaches reports whether h's inventory says of any binary that another
// source builds it.
func teaches(h *patchwatch.Host) bool {
	for _, p := range h.Packages {
		if p.SourceName != "" && p.SourceName != p.Name {
			return true
		}
	}
	return false
}

// taughtInventories remembers digests of what inventories taught the binary
// map: the (binary, source, tracks) pairs of their releases. Hosts built
// from one image teach the same pairs, whatever their versions, as does a
// report repeating its inventory; one seen costs no lookup in the map (its
// pairs are there, and a pair's flag only ever turns untracked). It is
// safe for concurrent use and keeps at most maxTaught digests.
type taughtInventories struct {
	mu      sync.Mutex
	seed    maphash.Seed
	digests map[uint64]struct{}
}

const maxTaught = 1 << 14

func (t *taughtInventories) digest(h *patchwatch.Host) uint64 {
	t.mu.Lock()
	if t.digests == nil {
		t.digests, t.seed = map[uint64]struct{}{}, maphash.MakeSeed()
	}
	seed := t.seed
	t.mu.Unlock()
	var m maphash.Hash
	m.SetSeed(seed)
	for _, release := range store.TeachingReleases(h) {
		m.WriteString(release)
		m.WriteByte(0)
	}
	for i := range h.Packages {
		p := &h.Packages[i]
		if p.SourceName == "" || p.SourceName == p.Name {
			continue
		}
		m.WriteString(p.Name)
		m.WriteByte(0)
		m.WriteString(p.SourceName)
		if store.PairTracksVersion(p) {
			m.WriteByte(1)
		} else {
			m.WriteByte(0)
		}
	}
	return m.Sum64()
}

func (t *taughtInventories) seen(digest uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.digests[digest]
	return ok
}

func (t *taughtInventories) remember(digest uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.digests {
		if len(t.digests) < maxTaught {
			break
		}
		delete(t.digests, k) // an arbitrary one: map order is random
	}
	t.digests[digest] = struct{}{}
}
