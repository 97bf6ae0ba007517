package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// The binary map: which source package builds each binary package of a
// release, learnt from every inventory that carried source fields and
// from advisories that list the binaries of a source fix. A host whose
// inventory names only binaries (dpkg -l, dpkg-query -W, image manifests,
// plain rpm -qa) is matched through it.
//
// binary_sources: release NUL binary NUL source -> tracking flag
// source_binaries: release NUL source NUL binary -> empty (for re-matching
// binary-only hosts when a source's advisory changes)
var (
	bucketBinarySources  = []byte("binary_sources")
	bucketSourceBinaries = []byte("source_binaries")
)

// Tracking flags of a (binary, source) pair. A binary-only host is
// compared by the binary's own version, which is right only when the
// binary's version follows its source's: equal, or a binNMU (+bN) of it.
// One inventory showing otherwise (gcc 4:12.2.0-3 from gcc-defaults 1.203)
// marks the pair untracked for good, and it is no longer used.
const (
	pairTracks    = 't'
	pairUntracked = 'u'
)

// missingPairs returns the pairs that would change the map: unknown ones,
// and known tracking ones that turn out untracked.
func missingPairs(tx *bbolt.Tx, pairs []store.BinaryPair) []store.BinaryPair {
	b := tx.Bucket(bucketBinarySources)
	if b == nil {
		return pairs
	}
	var out []store.BinaryPair
	var key []byte
	for _, p := range pairs {
		// One key buffer for the whole host: this runs on every report.
		key = append(append(append(append(append(key[:0], p.Release...), 0), p.Binary...), 0), p.Source...)
		v := b.Get(key)
		if v == nil || (!p.Tracks && v[0] == pairTracks) {
			out = append(out, p)
		}
	}
	return out
}

// learnPairsTx writes pairs into the map and returns the binaries whose
// pair is new (and tracks), which may now match binary-only hosts.
func learnPairsTx(tx *bbolt.Tx, pairs []store.BinaryPair) ([]store.ReleasePackage, error) {
	bySource, byBinary := tx.Bucket(bucketBinarySources), tx.Bucket(bucketSourceBinaries)
	var fresh []store.ReleasePackage
	for _, p := range pairs {
		k := fixKey(p.Release, p.Binary, p.Source)
		old := bySource.Get(k)
		flag := byte(pairTracks)
		if !p.Tracks || (old != nil && old[0] == pairUntracked) {
			flag = pairUntracked
		}
		if old != nil && old[0] == flag {
			continue
		}
		if err := bySource.Put(k, []byte{flag}); err != nil {
			return nil, err
		}
		if err := byBinary.Put(fixKey(p.Release, p.Source, p.Binary), nil); err != nil {
			return nil, err
		}
		if old == nil && flag == pairTracks {
			fresh = append(fresh, store.ReleasePackage{Release: p.Release, Package: p.Binary})
		}
	}
	return fresh, nil
}

// learnAdvisoryTx adds the binaries an advisory lists to the map; upsert
// calls it for every stored advisory.
func learnAdvisoryTx(tx *bbolt.Tx, a *patchwatch.Advisory) error {
	pairs := missingPairs(tx, store.AdvisoryBinaryPairs(a))
	if len(pairs) == 0 {
		return nil
	}
	_, err := learnPairsTx(tx, pairs)
	return err
}

// LearnBinarySources adds what a host's inventory says about which source
// builds which binary to the map of its release, and returns the (release,
// binary) pairs newly learnt, whose binary-only hosts may now have new
// findings. An inventory without source fields teaches nothing. A fleet of
// similar hosts teaches little after the first: known pairs cost one read
// each and no write.
func (s *Store) LearnBinarySources(ctx context.Context, h *patchwatch.Host) ([]store.ReleasePackage, error) {
	pairs := s.knownPairs.unknownOf(h)
	if len(pairs) == 0 {
		return nil, nil
	}
	var missing []store.BinaryPair
	if err := s.db.View(func(tx *bbolt.Tx) error {
		missing = missingPairs(tx, pairs)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		s.knownPairs.remember(pairs)
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var fresh []store.ReleasePackage
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		fresh, err = learnPairsTx(tx, missing)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("learn binary sources of %s: %w", h.Name, err)
	}
	s.knownPairs.remember(pairs)
	return fresh, nil
}

// knownPairs remembers binary map pairs known committed, with their flag,
// so that the reports of a fleet of similar hosts (each teaching the map
// what it already knows) cost no read of the map. Pairs are never removed
// from the map and a flag only ever turns from tracking to untracked, so a
// remembered pair that needs no write still needs none later.
type knownPairs struct {
	mu sync.RWMutex
	m  map[string]bool // release NUL binary NUL source -> untracked
}

// unknownOf returns the pairs h teaches (store.HostBinaryPairs) that might change the
// map, building none of those known.
func (k *knownPairs) unknownOf(h *patchwatch.Host) []store.BinaryPair {
	var key []byte
	var out []store.BinaryPair
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, release := range store.TeachingReleases(h) {
		for i := range h.Packages {
			p := &h.Packages[i]
			if p.SourceName == "" || p.SourceName == p.Name {
				continue
			}
			tracks := store.PairTracksVersion(p)
			key = append(append(append(append(append(key[:0], release...), 0), p.Name...), 0), p.SourceName...)
			untracked, ok := k.m[string(key)]
			if !ok || (!tracks && !untracked) {
				out = append(out, store.BinaryPair{Release: release, Binary: p.Name, Source: p.SourceName, Tracks: tracks})
			}
		}
	}
	return out
}

// remember records pairs that the map holds once a transaction that read
// or wrote them has committed.
func (k *knownPairs) remember(pairs []store.BinaryPair) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]bool{}
	}
	for _, p := range pairs {
		key := p.Release + "\x00" + p.Binary + "\x00" + p.Source
		// Untracked once seen untracked; the map says so too.
		k.m[key] = k.m[key] || !p.Tracks
	}
}

// BinarySources returns, for those of the binaries the map of release
// knows, the source packages that build them (binary → sources): those
// whose versions track, which matching may compare by the binary's
// version, and the untracked ones, whose advisories are still worth
// fetching for the binary lists they may carry.
func (s *Store) BinarySources(ctx context.Context, release string, binaries []string) (tracking, untracked map[string][]string, err error) {
	tracking, untracked = map[string][]string{}, map[string][]string{}
	err = s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketBinarySources)
		if b == nil {
			return nil // a read-only open of a database older than the map
		}
		c := b.Cursor()
		for _, bin := range binaries {
			prefix := fixKey(release, bin, "")
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				into := untracked
				if len(v) == 1 && v[0] == pairTracks {
					into = tracking
				}
				into[bin] = append(into[bin], string(k[len(prefix):]))
			}
		}
		return nil
	})
	return tracking, untracked, err
}

// BinariesBuilt returns the (release, binary) pairs the map knows for the
// given (release, source) pairs, so that a changed source advisory finds
// the binary-only hosts it may concern.
func (s *Store) BinariesBuilt(ctx context.Context, sources []store.ReleasePackage) ([]store.ReleasePackage, error) {
	var out []store.ReleasePackage
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSourceBinaries)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for _, rp := range sources {
			prefix := fixKey(rp.Release, rp.Package, "")
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				out = append(out, store.ReleasePackage{Release: rp.Release, Package: string(k[len(prefix):])})
			}
		}
		return nil
	})
	slices.SortFunc(out, func(x, y store.ReleasePackage) int {
		if c := strings.Compare(x.Release, y.Release); c != 0 {
			return c
		}
		return strings.Compare(x.Package, y.Package)
	})
	return slices.Compact(out), err
}

// backfillBinaryMap fills a new map from what a database already holds:
// the stored hosts with source fields and the stored advisories (schema
// version 6).
func backfillBinaryMap(tx *bbolt.Tx) error {
	// One host or advisory at a time: a big fleet's pairs do not fit in
	// memory at once, and most repeat.
	if err := tx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
		h, err := decodeHost(tx, k, v, nil)
		if err != nil {
			return err
		}
		_, err = learnPairsTx(tx, store.HostBinaryPairs(&h))
		return err
	}); err != nil {
		return err
	}
	return tx.Bucket(bucketAdvisories).ForEach(func(k, v []byte) error {
		var a patchwatch.Advisory
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode advisory %s: %w", k, err)
		}
		return learnAdvisoryTx(tx, &a)
	})
}
