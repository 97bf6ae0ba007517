package bolt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	json "github.com/goccy/go-json"
	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// Hosts built from the same images share most installed packages: each
// distinct package tuple (name, version, arch, source name and version,
// module) is stored once, content-addressed, and a host's inventory is the
// list of its tuples' IDs. A tuple's key starts with the binary name, so
// the tuples of one binary name are one prefix scan (room for matching by
// binary name).
//
//	package_tuples    id (uint32 BE) -> tuple
//	package_tuple_ids tuple -> id
//
// A host value is hostFormatTuples, the uvarint length of the host's JSON
// without packages, that JSON, the uvarint package count, and one uvarint
// tuple ID per package in inventory order. Values written before schema 6
// are the host's whole JSON and are still read.
const hostFormatTuples = 1

func encodeTuple(p *patchwatch.Package) []byte {
	n := 6 * binary.MaxVarintLen32
	for _, f := range [...]string{p.Name, p.Version, p.Arch, p.SourceName, p.SourceVersion, p.Module} {
		n += len(f)
	}
	return appendTuple(make([]byte, 0, n), p)
}

func appendTuple(out []byte, p *patchwatch.Package) []byte {
	for _, f := range [...]string{p.Name, p.Version, p.Arch, p.SourceName, p.SourceVersion, p.Module} {
		out = binary.AppendUvarint(out, uint64(len(f)))
		out = append(out, f...)
	}
	return out
}

// preparedHost is what a host's write can do before its transaction: its
// JSON without packages, the digest of its index, and the IDs of its
// tuples and pairs that are known committed (0 where not: IDs start at
// 1), looked up under one lock so that the serialised write transaction
// does only what is new.
type preparedHost struct {
	head          []byte
	digest        []byte
	tuples, pairs []uint32
	// pairSet, when not nil, is the host's whole set of pair IDs, sorted:
	// that of an index of the same digest already committed (pairs is
	// then nil).
	pairSet []uint32
}

// usable reports whether p was prepared for h and index.
func (p *preparedHost) usable(h *patchwatch.Host, index []store.ReleasePackage) bool {
	return len(p.tuples) == len(h.Packages) && (p.pairSet != nil || len(p.pairs) == len(index))
}

func (s *Store) prepareHost(h *patchwatch.Host, index []store.ReleasePackage) (*preparedHost, error) {
	head := *h
	head.Packages = nil
	data, err := json.Marshal(head)
	if err != nil {
		return nil, fmt.Errorf("encode host %s: %w", h.Name, err)
	}
	p := &preparedHost{head: data, digest: store.IndexDigest(index), tuples: make([]uint32, len(h.Packages))}
	var key []byte
	var missing int
	c := &s.ids
	c.mu.RLock()
	for i := range h.Packages {
		key = appendTuple(key[:0], &h.Packages[i])
		if p.tuples[i] = c.tuples[string(key)]; p.tuples[i] == 0 {
			missing++
		}
	}
	if set, ok := c.pairSets[[sha256.Size]byte(p.digest)]; ok {
		p.pairSet = set
	} else {
		p.pairs = make([]uint32, len(index))
		for i, rp := range index {
			key = appendPairKey(key[:0], rp.Release, rp.Package)
			if p.pairs[i] = c.pairs[string(key)]; p.pairs[i] == 0 {
				missing++
			}
		}
	}
	c.mu.RUnlock()
	if missing > 0 {
		if err := s.lookUpCommitted(p, h, index); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// lookUpCommitted finds, in a read transaction, the IDs of a prepared
// host's tuples and pairs missing from the committed cache (after a
// restart, every one), and caches those found: the serialised write then
// looks up only what is new.
func (s *Store) lookUpCommitted(p *preparedHost, h *patchwatch.Host, index []store.ReleasePackage) error {
	var tupleKeys, pairKeys []string
	var tupleIDs, pairIDs []uint32
	err := s.db.View(func(tx *bbolt.Tx) error {
		var key []byte
		ids := tx.Bucket(bucketTupleIDs)
		for i, id := range p.tuples {
			if id != 0 {
				continue
			}
			key = appendTuple(key[:0], &h.Packages[i])
			if v := ids.Get(key); len(v) == 4 {
				p.tuples[i] = binary.BigEndian.Uint32(v)
				tupleKeys, tupleIDs = append(tupleKeys, string(key)), append(tupleIDs, p.tuples[i])
			}
		}
		ids = tx.Bucket(bucketPairIDs)
		for i, id := range p.pairs {
			if id != 0 {
				continue
			}
			key = appendPairKey(key[:0], index[i].Release, index[i].Package)
			if v := ids.Get(key); len(v) == 4 {
				p.pairs[i] = binary.BigEndian.Uint32(v)
				pairKeys, pairIDs = append(pairKeys, string(key)), append(pairIDs, p.pairs[i])
			}
		}
		return nil
	})
	if err != nil || len(tupleKeys)+len(pairKeys) == 0 {
		return err
	}
	c := &s.ids
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tuples == nil {
		c.tuples, c.pairs = map[string]uint32{}, map[string]uint32{}
	}
	for i, k := range tupleKeys {
		c.tuples[k] = tupleIDs[i]
	}
	for i, k := range pairKeys {
		c.pairs[k] = pairIDs[i]
	}
	return nil
}

var errBadTuple = errors.New("malformed package tuple")

func decodeTuple(b []byte) (patchwatch.Package, error) {
	f, err := tupleFields(b)
	if err != nil {
		return patchwatch.Package{}, err
	}
	return patchwatch.Package{Name: string(f[0]), Version: string(f[1]), Arch: string(f[2]), SourceName: string(f[3]), SourceVersion: string(f[4]), Module: string(f[5])}, nil
}

// tupleFields splits an encoded tuple into its six fields, in b.
func tupleFields(b []byte) ([6][]byte, error) {
	var fields [6][]byte
	for i := range fields {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return fields, errBadTuple
		}
		fields[i] = b[k : k+int(n)]
		b = b[k+int(n):]
	}
	return fields, nil
}

// tupleCache keeps decoded tuples by ID (IDs are dense: a slice). A
// tuple's ID never changes once committed, so the cache is filled only
// from read transactions (an ID handed out in a write that rolls back could
// be given to another tuple).
type tupleCache struct {
	mu    sync.RWMutex
	byID  []patchwatch.Package
	known []bool
}

// fill sets into[i] to the tuple of ids[i] where it is cached, under one
// lock for the whole host, and returns the indexes of those it is not.
func (c *tupleCache) fill(ids []uint32, into []patchwatch.Package) []int {
	var missing []int
	c.mu.RLock()
	for i, id := range ids {
		if int(id) < len(c.known) && c.known[id] {
			into[i] = c.byID[id]
		} else {
			missing = append(missing, i)
		}
	}
	c.mu.RUnlock()
	return missing
}

func (c *tupleCache) put(id uint32, p patchwatch.Package) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(id) >= len(c.known) {
		n := max(int(id)+1, 2*len(c.known))
		c.byID = append(c.byID, make([]patchwatch.Package, n-len(c.byID))...)
		c.known = append(c.known, make([]bool, n-len(c.known))...)
	}
	c.byID[id], c.known[id] = p, true
}

// txIDs remembers, within one write transaction, the IDs of the tuples
// and pairs it has looked up, for bulk loads of many similar hosts, and
// consults the IDs known to be committed (shared). Its bits are the package
// index changes, applied once at the end (flush).
type txIDs struct {
	tuples, pairs map[string]uint32
	// newTuples and newPairs are those not yet in shared.
	newTuples, newPairs map[string]uint32
	// pairSets are the pair ID sets of the hosts indexed, by digest.
	pairSets map[[sha256.Size]byte][]uint32
	bits     bitChanges
	shared   *committedIDs
}

func (s *Store) newTxIDs() *txIDs {
	return &txIDs{tuples: map[string]uint32{}, pairs: map[string]uint32{}, newTuples: map[string]uint32{}, newPairs: map[string]uint32{},
		bits: bitChanges{}, shared: &s.ids}
}

// flush writes the transaction's gathered index changes.
func (t *txIDs) flush(tx *bbolt.Tx) error { return t.bits.apply(tx.Bucket(bucketPackageBlocks)) }

// committed records, once the transaction has committed, the IDs it used
// as known: a later transaction finds them without a B-tree search.
func (t *txIDs) committed() { t.shared.remember(t) }

// committedIDs are tuple and pair IDs of committed transactions. IDs are
// never reused once committed (only a rolled-back transaction's are), so
// every later transaction may use them.
type committedIDs struct {
	mu            sync.RWMutex
	tuples, pairs map[string]uint32
	// pairSets are the sorted pair ID sets of recently indexed hosts, by
	// their index digest: hosts built from one image share their package
	// names, and a report naming those of one already indexed needs none
	// of its thousands of pair lookups. At most maxPairSets are kept.
	pairSets map[[sha256.Size]byte][]uint32
}

// maxPairSets bounds committedIDs.pairSets (~2,000 IDs each: 8 KB).
const maxPairSets = 512

// pairSet returns the pair ID set of an index digest the transaction or an
// earlier commit has written.
func (t *txIDs) pairSet(digest []byte) ([]uint32, bool) {
	if set, ok := t.pairSets[[sha256.Size]byte(digest)]; ok {
		return set, true
	}
	c := t.shared
	c.mu.RLock()
	defer c.mu.RUnlock()
	set, ok := c.pairSets[[sha256.Size]byte(digest)]
	return set, ok
}

func (c *committedIDs) lookup(tuple bool, key []byte) (uint32, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := c.pairs
	if tuple {
		m = c.tuples
	}
	id, ok := m[string(key)]
	return id, ok
}

func (c *committedIDs) remember(t *txIDs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tuples == nil {
		c.tuples, c.pairs = map[string]uint32{}, map[string]uint32{}
	}
	for k, id := range t.newTuples {
		c.tuples[k] = id
	}
	for k, id := range t.newPairs {
		c.pairs[k] = id
	}
	if len(t.pairSets) == 0 {
		return
	}
	if c.pairSets == nil {
		c.pairSets = map[[sha256.Size]byte][]uint32{}
	}
	for digest, set := range t.pairSets {
		if _, ok := c.pairSets[digest]; ok {
			continue
		}
		for k := range c.pairSets {
			if len(c.pairSets) < maxPairSets {
				break
			}
			delete(c.pairSets, k) // an arbitrary one: map order is random
		}
		c.pairSets[digest] = set
	}
}

// internTx returns the ID of a package tuple, storing it when new; seen,
// when not nil, caches IDs for the rest of the transaction.
func internTx(tx *bbolt.Tx, p *patchwatch.Package, seen *txIDs) (uint32, error) {
	key := encodeTuple(p)
	if seen != nil {
		if id, ok := seen.tuples[string(key)]; ok {
			return id, nil
		}
		id, ok := seen.shared.lookup(true, key)
		if !ok {
			var err error
			if id, err = internTx(tx, p, nil); err != nil {
				return 0, err
			}
			seen.newTuples[string(key)] = id
		}
		seen.tuples[string(key)] = id
		return id, nil
	}
	ids := tx.Bucket(bucketTupleIDs)
	if v := ids.Get(key); len(v) == 4 {
		return binary.BigEndian.Uint32(v), nil
	}
	tuples := tx.Bucket(bucketTuples)
	seq, err := tuples.NextSequence()
	if err != nil {
		return 0, err
	}
	if seq > 1<<32-1 {
		return 0, errors.New("package tuple table is full")
	}
	id := binary.BigEndian.AppendUint32(nil, uint32(seq))
	if err := tuples.Put(id, key); err != nil {
		return 0, err
	}
	return uint32(seq), ids.Put(key, id)
}

// encodeHost writes a host as its JSON without packages and its tuple
// IDs; pre, when not nil, is the host prepared before the transaction.
func encodeHost(tx *bbolt.Tx, h *patchwatch.Host, seen *txIDs, pre *preparedHost) ([]byte, error) {
	var data []byte
	if pre != nil {
		data = pre.head
	} else {
		head := *h
		head.Packages = nil
		var err error
		if data, err = json.Marshal(head); err != nil {
			return nil, fmt.Errorf("encode host %s: %w", h.Name, err)
		}
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen32*(2+len(h.Packages))+len(data))
	out = append(out, hostFormatTuples)
	out = binary.AppendUvarint(out, uint64(len(data)))
	out = append(out, data...)
	out = binary.AppendUvarint(out, uint64(len(h.Packages)))
	for i := range h.Packages {
		if pre != nil && pre.tuples[i] != 0 {
			out = binary.AppendUvarint(out, uint64(pre.tuples[i]))
			continue
		}
		id, err := internTx(tx, &h.Packages[i], seen)
		if err != nil {
			return nil, fmt.Errorf("store packages of host %s: %w", h.Name, err)
		}
		out = binary.AppendUvarint(out, uint64(id))
	}
	return out, nil
}

// hostHead returns the JSON of a stored host without its packages (for
// the old format, the whole JSON) and the rest of the value.
func hostHead(v []byte) (head, rest []byte, err error) {
	if len(v) == 0 || v[0] != hostFormatTuples {
		return v, nil, nil // schema 5: the whole host as JSON
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 || uint64(len(v)-1-k) < n {
		return nil, nil, errors.New("malformed host value")
	}
	return v[1+k : 1+k+int(n)], v[1+k+int(n):], nil
}

// decodeHost reads a stored host. cache, when not nil, is consulted and
// filled (read transactions only).
func decodeHost(tx *bbolt.Tx, name, v []byte, cache *tupleCache) (patchwatch.Host, error) {
	var h patchwatch.Host
	err := decodeHostInto(tx, name, v, cache, &h)
	return h, err
}

// decodeHostInto is decodeHost into h, reusing its package slice.
func decodeHostInto(tx *bbolt.Tx, name, v []byte, cache *tupleCache, h *patchwatch.Host) error {
	ids, err := decodeHostHead(name, v, h, nil)
	if err != nil || ids == nil {
		return err
	}
	h.Packages, err = tuplesInto(tx, ids, cache, slices.Grow(h.Packages[:0], len(ids))[:len(ids)])
	if err != nil {
		return fmt.Errorf("decode host %s: %w", name, err)
	}
	return nil
}

// decodeHostHead decodes a stored host without its packages into h, and
// returns its tuple IDs, appended to ids[:0]; for a value of schema 5 (the
// whole host as JSON) it decodes the packages too and returns nil IDs.
func decodeHostHead(name, v []byte, h *patchwatch.Host, ids []uint32) ([]uint32, error) {
	*h = patchwatch.Host{Packages: h.Packages[:0]}
	head, rest, err := hostHead(v)
	if err == nil {
		err = json.Unmarshal(head, h)
	}
	if err != nil || rest == nil {
		if err != nil {
			err = fmt.Errorf("decode host %s: %w", name, err)
		}
		return nil, err
	}
	count, k := binary.Uvarint(rest)
	if k <= 0 || count > uint64(len(rest)) {
		return nil, fmt.Errorf("decode host %s: malformed package list", name)
	}
	rest = rest[k:]
	ids = slices.Grow(ids[:0], int(count))[:count]
	if !decodeIDs(rest, ids) {
		return nil, fmt.Errorf("decode host %s: malformed package list", name)
	}
	return ids, nil
}

// decodeIDs decodes len(ids) uvarint tuple IDs from b into ids, reporting
// whether b held them. IDs of up to three bytes (below 2^21) are decoded
// inline: a full pass decodes 150 million at 100,000 hosts, and
// binary.Uvarint's loop took three times as long.
func decodeIDs(b []byte, ids []uint32) bool {
	for i := range ids {
		if len(b) >= 3 {
			b0 := b[0]
			if b0 < 0x80 {
				ids[i], b = uint32(b0), b[1:]
				continue
			}
			b1 := b[1]
			if b1 < 0x80 {
				ids[i], b = uint32(b0&0x7f)|uint32(b1)<<7, b[2:]
				continue
			}
			if b2 := b[2]; b2 < 0x80 {
				ids[i], b = uint32(b0&0x7f)|uint32(b1&0x7f)<<7|uint32(b2)<<14, b[3:]
				continue
			}
		}
		id, k := binary.Uvarint(b)
		if k <= 0 || id > 1<<32-1 {
			return false
		}
		ids[i], b = uint32(id), b[k:]
	}
	return true
}

// tuplesInto sets into[i] to the tuple of ids[i], from cache where it can
// (when not nil: read transactions only) and else from tx.
func tuplesInto(tx *bbolt.Tx, ids []uint32, cache *tupleCache, into []patchwatch.Package) ([]patchwatch.Package, error) {
	var missing []int
	if cache != nil {
		missing = cache.fill(ids, into)
	} else {
		missing = make([]int, len(ids))
		for i := range ids {
			missing[i] = i
		}
	}
	if len(missing) == 0 {
		return into, nil
	}
	tuples := tx.Bucket(bucketTuples)
	var key [4]byte
	for _, i := range missing {
		binary.BigEndian.PutUint32(key[:], ids[i])
		p, err := decodeTuple(tuples.Get(key[:]))
		if err != nil {
			return nil, fmt.Errorf("package tuple %d: %w", ids[i], err)
		}
		into[i] = p
		if cache != nil {
			cache.put(ids[i], p)
		}
	}
	return into, nil
}

// HostTuplesAfter returns up to limit hosts after the named one (from the
// first when after is empty), in name order, each without its packages but
// with its package tuple IDs, decoded into reuse (a page the caller is done
// with). A host stored before schema 6 comes whole, with no IDs.
func (s *Store) HostTuplesAfter(ctx context.Context, after string, limit int, reuse []store.HostTuples) ([]store.HostTuples, error) {
	out := reuse[:0]
	err := s.eachHostAfter(ctx, after, limit, func(_ *bbolt.Tx, k, v []byte) error {
		out = grow(out)
		ht := &out[len(out)-1]
		ids, err := decodeHostHead(k, v, &ht.Host, ht.IDs)
		if err != nil {
			return err
		}
		if ids == nil {
			ids = ht.IDs[:0]
		}
		ht.IDs = ids
		return nil
	})
	return out, err
}

// PackageTuples appends the package tuples of ids, in order, to into.
func (s *Store) PackageTuples(ctx context.Context, ids []uint32, into []patchwatch.Package) ([]patchwatch.Package, error) {
	start := len(into)
	into = slices.Grow(into, len(ids))[:start+len(ids)]
	if missing := s.tuples.fill(ids, into[start:]); len(missing) == 0 {
		return into, nil
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		_, err := tuplesInto(tx, ids, &s.tuples, into[start:])
		return err
	})
	if err != nil {
		return nil, err
	}
	return into, ctx.Err()
}

// TupleIDs returns, as a bitmap indexed by ID, the stored package tuples
// keep accepts by their binary and source names (a scan of every distinct
// tuple, not of every host), and the highest tuple ID it saw: a tuple
// stored later has a higher one, and the scan says nothing of it. keep
// must not retain the names: they are the database's own bytes, valid only
// while it is called.
func (s *Store) TupleIDs(ctx context.Context, keep func(name, source []byte) bool) ([]uint64, uint32, error) {
	var bits []uint64
	var last uint32
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTuples).ForEach(func(k, v []byte) error {
			if len(k) != 4 {
				return nil
			}
			id := binary.BigEndian.Uint32(k)
			last = max(last, id)
			fields, err := tupleFields(v)
			if err != nil {
				return fmt.Errorf("package tuple %x: %w", k, err)
			}
			if !keep(fields[0], fields[3]) {
				return nil
			}
			if w := int(id / 64); w >= len(bits) {
				bits = append(bits, make([]uint64, w+1-len(bits))...)
			}
			bits[id/64] |= 1 << (id % 64)
			return nil
		})
	})
	if err != nil {
		return nil, 0, err
	}
	return bits, last, ctx.Err()
}

// HostTuplesNamed returns the named hosts as HostTuplesAfter does, in the
// order given, leaving out those not stored.
func (s *Store) HostTuplesNamed(ctx context.Context, names []string) ([]store.HostTuples, error) {
	out := make([]store.HostTuples, 0, len(names))
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketHosts)
		for _, name := range names {
			v := b.Get([]byte(name))
			if v == nil {
				continue
			}
			out = append(out, store.HostTuples{})
			ht := &out[len(out)-1]
			ids, err := decodeHostHead([]byte(name), v, &ht.Host, nil)
			if err != nil {
				return err
			}
			ht.IDs = ids
		}
		return ctx.Err()
	})
	return out, err
}
