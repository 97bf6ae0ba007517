package bolt

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"

	bbolt "go.etcd.io/bbolt"
)

// The advisory index finds the hosts with an open finding of an advisory.
// Schema 10 keys it by shard of advisoryShardHosts host IDs, then
// advisory, each value the set of the shard's hosts under it:
//
//	advisory_host_sets  shard (uint32 BE) advisory -> host set
//
// A set lists its hosts' offsets in the shard, ascending, as uint16 BE,
// until it holds setBitmapAbove of them; from then on it is a bitmap of the
// whole shard (setBitmapLen bytes, the only length a list never has).
//
// A new host has the newest ID, so its findings change keys of the newest
// shard only, a few pages that the reports of a batch share. Schema 7's
// index (advisory NUL host) made each finding an insert into a random page
// of the whole index: a quarter of intake's time at 10,000 hosts. Schema
// 8's shards of 64 hosts (advisory_host_bits, a uint64 bitmap each) held
// about one host per key: 951,916 keys for 1,040,821 findings at 100,000
// hosts, each a Put at the end of the first evaluation, where nothing else
// runs; at 4,096 hosts a key holds seven on average (139,709 keys).
//
// A fleet's first evaluation adds all of the index. So a bulk load into a
// database with no findings defers it: while deferred, writes leave it
// alone and readers find an advisory's hosts from the finding details'
// keys (host NUL advisory); the end of the full re-evaluation
// (SetEvaluationPending("")) builds it in one sorted pass.

// advisoryShardHosts is how many consecutive host IDs a shard holds.
const advisoryShardHosts = 4096

// setBitmapLen is the size of a shard's bitmap; a set of setBitmapAbove
// hosts or more is one (a list of them would be as long or longer).
const (
	setBitmapLen   = advisoryShardHosts / 8
	setBitmapAbove = setBitmapLen / 2
)

// keyAdvisoryIndexDeferred is the meta flag set while the index is.
var keyAdvisoryIndexDeferred = []byte("advisory_index_deferred")

func advisoryIndexDeferred(tx *bbolt.Tx) bool {
	return tx.Bucket(bucketMeta).Get(keyAdvisoryIndexDeferred) != nil
}

// deferAdvisoryIndexIfEmpty defers the index when no finding is stored
// (so it holds nothing either).
func deferAdvisoryIndexIfEmpty(tx *bbolt.Tx) error {
	if k, _ := tx.Bucket(bucketHostDetails).Cursor().First(); k != nil {
		return nil
	}
	return tx.Bucket(bucketMeta).Put(keyAdvisoryIndexDeferred, []byte("until the full re-evaluation ends"))
}

func advisorySetKey(shard uint32, advisory string) []byte {
	return append(u32(shard), advisory...)
}

// hostAdvisories is one host's place in the advisory index.
type hostAdvisories struct {
	b      *bbolt.Bucket
	shard  uint32
	offset uint16
}

// hostAdvisoriesTx returns host's place in the index; ok is false when
// the host has no ID and create is false (it is in no entry).
func hostAdvisoriesTx(tx *bbolt.Tx, host string, create bool) (hostAdvisories, bool, error) {
	var names *bbolt.Bucket
	if create {
		names = tx.Bucket(bucketHostNames)
	}
	id, ok, err := sequenceID(tx.Bucket(bucketHostIDs), names, []byte(host), create)
	if err != nil || !ok {
		return hostAdvisories{}, false, err
	}
	return hostAdvisories{b: tx.Bucket(bucketAdvisorySets), shard: id / advisoryShardHosts, offset: uint16(id % advisoryShardHosts)}, true, nil
}

// set adds the host under advisory (on) or takes it out; a value left
// unchanged is not written (a Put still dirties its page).
func (h hostAdvisories) set(advisory string, on bool) error {
	key := advisorySetKey(h.shard, advisory)
	next, changed := hostSetWith(h.b.Get(key), h.offset, on)
	switch {
	case !changed:
		return nil
	case next == nil:
		return h.b.Delete(key)
	}
	return h.b.Put(key, next)
}

// hostSetWith returns set with offset in it (on) or out of it, as a new
// value in the form a build gives it (nil when empty); changed is false
// when it was so already.
func hostSetWith(set []byte, offset uint16, on bool) (next []byte, changed bool) {
	if len(set) == setBitmapLen {
		i, bit := offset/8, byte(1)<<(offset%8)
		if (set[i]&bit != 0) == on {
			return set, false
		}
		// A bitmap that stays one changes one bit.
		if on || bitmapHosts(set) > setBitmapAbove {
			next = bytes.Clone(set)
			next[i] ^= bit
			return next, true
		}
	}
	offsets := setOffsets(set, nil)
	i, has := slices.BinarySearch(offsets, offset)
	switch {
	case has == on:
		return set, false
	case on:
		offsets = slices.Insert(offsets, i, offset)
	case len(offsets) == 1:
		return nil, true
	default:
		offsets = slices.Delete(offsets, i, i+1)
	}
	return appendHostSet(nil, offsets), true
}

// bitmapHosts counts the hosts in a bitmap set.
func bitmapHosts(set []byte) int {
	n := 0
	for _, b := range set {
		n += bits.OnesCount8(b)
	}
	return n
}

// appendHostSet appends the set of offsets (ascending, distinct).
func appendHostSet(dst []byte, offsets []uint16) []byte {
	if len(offsets) < setBitmapAbove {
		for _, off := range offsets {
			dst = binary.BigEndian.AppendUint16(dst, off)
		}
		return dst
	}
	start := len(dst)
	dst = append(dst, make([]byte, setBitmapLen)...)
	for _, off := range offsets {
		dst[start+int(off/8)] |= 1 << (off % 8)
	}
	return dst
}

// setOffsets appends to into the offsets in a set, ascending.
func setOffsets(set []byte, into []uint16) []uint16 {
	if len(set) == setBitmapLen {
		for i, b := range set {
			for ; b != 0; b &= b - 1 {
				into = append(into, uint16(i*8+bits.TrailingZeros8(b)))
			}
		}
		return into
	}
	for k := 0; k+1 < len(set); k += 2 {
		into = append(into, binary.BigEndian.Uint16(set[k:]))
	}
	return into
}

// addHostSet adds to found the IDs of the hosts in a shard's set.
func addHostSet(found map[uint32]bool, shard uint32, set []byte) {
	var held [64]uint16
	for _, off := range setOffsets(set, held[:0]) {
		found[shard*advisoryShardHosts+uint32(off)] = true
	}
}

// setAdvisoryHostTx takes host out of advisory's entry (on false) or adds
// it.
func setAdvisoryHostTx(tx *bbolt.Tx, host, advisory string, on bool) error {
	h, ok, err := hostAdvisoriesTx(tx, host, on)
	if err != nil || !ok {
		return err
	}
	return h.set(advisory, on)
}

// advisoryHostsTx returns, in name order, the hosts with an open finding
// of any of the advisories ids: through the index, or while it is
// deferred through the details' keys.
func advisoryHostsTx(tx *bbolt.Tx, ids ...string) []string {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	if advisoryIndexDeferred(tx) {
		var out []string
		var last []byte
		// A malformed value is skipped here: the index built when the
		// deferral ends reports it.
		_ = eachStoredDetail(tx, func(host, advisory, _ []byte) error {
			if want[string(advisory)] && !bytes.Equal(host, last) {
				out = append(out, string(host))
				last = host
			}
			return nil
		})
		return out
	}
	b, names := tx.Bucket(bucketAdvisorySets), tx.Bucket(bucketHostNames)
	if b == nil {
		return olderAdvisoryHostsTx(tx, want)
	}
	shards := uint32(tx.Bucket(bucketHostIDs).Sequence()/advisoryShardHosts) + 1
	var found map[uint32]bool
	if len(want) <= walkAdvisoryIndexAbove {
		found = advisoryHostIDsByReads(b, want, shards)
	} else {
		// Many advisories (a KEV update names thousands): one walk of the
		// index costs less than a read per advisory and shard.
		found = advisoryHostIDsByWalk(b, want)
	}
	return hostNames(names, found)
}

// advisoryHostIDsByReads returns the IDs of the hosts under the wanted
// advisories, reading each advisory's value in every shard.
func advisoryHostIDsByReads(b *bbolt.Bucket, want map[string]bool, shards uint32) map[uint32]bool {
	found := map[uint32]bool{}
	for id := range want {
		key := advisorySetKey(0, id)
		for shard := range shards {
			binary.BigEndian.PutUint32(key, shard)
			addHostSet(found, shard, b.Get(key))
		}
	}
	return found
}

// advisoryHostIDsByWalk is advisoryHostIDsByReads walking the whole index.
func advisoryHostIDsByWalk(b *bbolt.Bucket, want map[string]bool) map[uint32]bool {
	found := map[uint32]bool{}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) > 4 && want[string(k[4:])] {
			addHostSet(found, binary.BigEndian.Uint32(k), v)
		}
	}
	return found
}

// walkAdvisoryIndexAbove is how many advisories a lookup reads one by one
// in every shard before it walks the whole index instead: both costs grow
// with the shards, and a shard holds a few thousand keys, whose walk costs
// about what reading a few hundred of them does.
const walkAdvisoryIndexAbove = 256

// olderAdvisoryHostsTx reads the index of a database opened read-only
// (not migrated): schema 8's (shards of 64 hosts, a uint64 bitmap each),
// walked whole, or schema 7's.
func olderAdvisoryHostsTx(tx *bbolt.Tx, want map[string]bool) []string {
	b := tx.Bucket(bucketAdvisoryBits)
	if b == nil {
		return oldAdvisoryHostsTx(tx, want)
	}
	found := map[uint32]bool{}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) > 4 && len(v) == 8 && want[string(k[4:])] {
			addHostBits(found, binary.BigEndian.Uint32(k), binary.BigEndian.Uint64(v))
		}
	}
	return hostNames(tx.Bucket(bucketHostNames), found)
}

// oldAdvisoryHostsTx reads schema 7's index, of a database opened
// read-only (not migrated).
func oldAdvisoryHostsTx(tx *bbolt.Tx, ids map[string]bool) []string {
	b := tx.Bucket(bucketOldAdvisoryIndex)
	if b == nil {
		return nil
	}
	var out []string
	for id := range ids {
		prefix := pairKey(id, "")
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out = append(out, string(k[len(prefix):]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// buildAdvisoryIndex builds the index from the finding details' keys, in
// key order into packed pages, replacing what it held. It runs alone at
// the end of a first evaluation, so it sorts integers, not strings: each
// finding becomes (shard, rank of its advisory, offset of its host).
func buildAdvisoryIndex(tx *bbolt.Tx) error {
	if err := tx.DeleteBucket(bucketAdvisorySets); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bucketAdvisorySets)
	if err != nil {
		return err
	}
	// First one entry per finding: the advisory's place among the
	// distinct ones, and the host's ID.
	var advisories []string
	places := map[string]uint32{}
	var entries []uint64
	ids, names := tx.Bucket(bucketHostIDs), tx.Bucket(bucketHostNames)
	var host uint32
	var last []byte
	err = eachStoredDetail(tx, func(name, advisory, _ []byte) error {
		if !bytes.Equal(name, last) {
			var err error
			if host, _, err = sequenceID(ids, names, name, true); err != nil {
				return err
			}
			last = append(last[:0], name...)
		}
		place, ok := places[string(advisory)]
		if !ok {
			place = uint32(len(advisories))
			advisories = append(advisories, string(advisory))
			places[advisories[place]] = place
		}
		entries = append(entries, uint64(place)<<32|uint64(host))
		return nil
	})
	if err != nil {
		return err
	}
	byName := make([]uint32, len(advisories))
	for i := range byName {
		byName[i] = uint32(i)
	}
	slices.SortFunc(byName, func(a, b uint32) int { return strings.Compare(advisories[a], advisories[b]) })
	rank := make([]uint32, len(advisories))
	for r, place := range byName {
		rank[place] = uint32(r)
	}
	// shard (20 bits of a 32-bit ID) | rank (32) | offset (12): key order.
	for i, e := range entries {
		id := uint32(e)
		entries[i] = uint64(id/advisoryShardHosts)<<44 | uint64(rank[e>>32])<<12 | uint64(id%advisoryShardHosts)
	}
	slices.Sort(entries)
	b.FillPercent = denseFill
	// Keys and values are cut from shared arrays: bbolt keeps them until
	// the commit.
	var buf []byte
	offsets := make([]uint16, 0, advisoryShardHosts)
	for i := 0; i < len(entries); {
		group := entries[i] >> 12
		offsets = offsets[:0]
		// A detail key is one (host, advisory): no entry repeats.
		for ; i < len(entries) && entries[i]>>12 == group; i++ {
			offsets = append(offsets, uint16(entries[i]%advisoryShardHosts))
		}
		advisory := advisories[byName[uint32(group)]]
		if cap(buf)-len(buf) < 4+len(advisory)+setBitmapLen {
			buf = make([]byte, 0, 1<<16)
		}
		start := len(buf)
		buf = append(binary.BigEndian.AppendUint32(buf, uint32(group>>32)), advisory...)
		key := buf[start:len(buf):len(buf)]
		start = len(buf)
		buf = appendHostSet(buf, offsets)
		if err := b.Put(key, buf[start:len(buf):len(buf)]); err != nil {
			return err
		}
	}
	return nil
}

// buildDeferredAdvisoryIndex builds the index if it is deferred, and ends
// the deferral.
func buildDeferredAdvisoryIndex(tx *bbolt.Tx) error {
	if !advisoryIndexDeferred(tx) {
		return nil
	}
	if err := buildAdvisoryIndex(tx); err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Delete(keyAdvisoryIndexDeferred)
}

// migrateAdvisoryIndex (schema 7 or 8 to 10) builds the index and drops
// the older ones, unless it is deferred (built when the deferral ends).
func migrateAdvisoryIndex(tx *bbolt.Tx) error {
	if !advisoryIndexDeferred(tx) {
		if err := buildAdvisoryIndex(tx); err != nil {
			return err
		}
	}
	for _, older := range [][]byte{bucketOldAdvisoryIndex, bucketAdvisoryBits} {
		if tx.Bucket(older) == nil {
			continue
		}
		if err := tx.DeleteBucket(older); err != nil {
			return err
		}
	}
	return nil
}
