package bolt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"strings"

	bbolt "go.etcd.io/bbolt"
)

// The advisory index finds the hosts with an open finding of an advisory.
// Schema 8 keys it by shard of host IDs (hostsPerShard, as the package
// index), then advisory, each value a bitmap of the shard's hosts:
//
//	advisory_host_bits  shard (uint32 BE) advisory -> uint64 BE host bitmap
//
// A new host has the newest ID, so its findings change keys of the newest
// shard only, a few pages that the reports of a batch share. Schema 7's
// index (advisory NUL host) made each finding an insert into a random page
// of the whole index: a quarter of intake's time at 10,000 hosts.
//
// A fleet's first evaluation adds all of the index. So a bulk load into a
// database with no findings defers it: while deferred, writes leave it
// alone and readers find an advisory's hosts from the finding details'
// keys (host NUL advisory); the end of the full re-evaluation
// (SetEvaluationPending("")) builds it in one sorted pass.

// keyAdvisoryIndexDeferred is the meta flag set while the index is.
var keyAdvisoryIndexDeferred = []byte("advisory_index_deferred")

func advisoryIndexDeferred(tx *bbolt.Tx) bool {
	return tx.Bucket(bucketMeta).Get(keyAdvisoryIndexDeferred) != nil
}

// deferAdvisoryIndexIfEmpty defers the index when no finding is stored
// (so it holds nothing either).
func deferAdvisoryIndexIfEmpty(tx *bbolt.Tx) error {
	if k, _ := tx.Bucket(bucketFindingDetails).Cursor().First(); k != nil {
		return nil
	}
	return tx.Bucket(bucketMeta).Put(keyAdvisoryIndexDeferred, []byte("until the full re-evaluation ends"))
}

func advisoryBitsKey(shard uint32, advisory string) []byte {
	return append(u32(shard), advisory...)
}

// hostAdvisories is one host's place in the advisory index.
type hostAdvisories struct {
	b     *bbolt.Bucket
	shard uint32
	bit   uint64
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
	return hostAdvisories{b: tx.Bucket(bucketAdvisoryBits), shard: id / hostsPerShard, bit: 1 << (id % hostsPerShard)}, true, nil
}

// set adds the host under advisory (on) or takes it out; a value left
// unchanged is not written (a Put still dirties its page).
func (h hostAdvisories) set(advisory string, on bool) error {
	key := advisoryBitsKey(h.shard, advisory)
	old := bitmapValue(h.b.Get(key))
	next := old &^ h.bit
	if on {
		next = old | h.bit
	}
	switch {
	case next == old:
		return nil
	case next == 0:
		return h.b.Delete(key)
	}
	return h.b.Put(key, binary.BigEndian.AppendUint64(nil, next))
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
		c := tx.Bucket(bucketFindingDetails).Cursor()
		var last []byte
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if host, advisory, ok := bytes.Cut(k, []byte{0}); ok && want[string(advisory)] && !bytes.Equal(host, last) {
				out = append(out, string(host))
				last = host
			}
		}
		return out
	}
	b, names := tx.Bucket(bucketAdvisoryBits), tx.Bucket(bucketHostNames)
	if b == nil {
		return oldAdvisoryHostsTx(tx, want)
	}
	shards := uint32(tx.Bucket(bucketHostIDs).Sequence()/hostsPerShard) + 1
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
		key := advisoryBitsKey(0, id)
		for shard := range shards {
			binary.BigEndian.PutUint32(key, shard)
			addHostBits(found, shard, bitmapValue(b.Get(key)))
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
			addHostBits(found, binary.BigEndian.Uint32(k), bitmapValue(v))
		}
	}
	return found
}

// bitmapValue decodes an index value's host bitmap (0 when absent).
func bitmapValue(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// walkAdvisoryIndexAbove is how many advisories a lookup reads one by one
// in every shard before it walks the whole index instead: both costs grow
// with the shards, and a shard holds a few hundred advisories, whose walk
// costs about what reading some twenty of them does.
const walkAdvisoryIndexAbove = 16

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
// key order into packed pages, replacing what it held.
func buildAdvisoryIndex(tx *bbolt.Tx) error {
	if err := tx.DeleteBucket(bucketAdvisoryBits); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bucketAdvisoryBits)
	if err != nil {
		return err
	}
	// One entry per finding, its advisory ID shared by all of its
	// findings, sorted into key order (shard, advisory) and merged.
	type entry struct {
		advisory string
		host     uint32
	}
	var entries []entry
	ids := map[string]string{}
	var host uint32
	var last []byte
	c := tx.Bucket(bucketFindingDetails).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		name, advisory, ok := bytes.Cut(k, []byte{0})
		if !ok {
			continue
		}
		if !bytes.Equal(name, last) {
			if host, _, err = sequenceID(tx.Bucket(bucketHostIDs), tx.Bucket(bucketHostNames), name, true); err != nil {
				return err
			}
			last = append(last[:0], name...)
		}
		id, ok := ids[string(advisory)]
		if !ok {
			id = string(advisory)
			ids[id] = id
		}
		entries = append(entries, entry{id, host})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(a.host/hostsPerShard, b.host/hostsPerShard); c != 0 {
			return c
		}
		return strings.Compare(a.advisory, b.advisory)
	})
	b.FillPercent = denseFill
	for i := 0; i < len(entries); {
		shard, advisory := entries[i].host/hostsPerShard, entries[i].advisory
		var word uint64
		for ; i < len(entries) && entries[i].host/hostsPerShard == shard && entries[i].advisory == advisory; i++ {
			word |= 1 << (entries[i].host % hostsPerShard)
		}
		if err := b.Put(advisoryBitsKey(shard, advisory), binary.BigEndian.AppendUint64(nil, word)); err != nil {
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

// migrateAdvisoryIndex (schema 7 to 8) builds the sharded index and drops
// schema 7's, unless the index is deferred (built when the deferral ends).
func migrateAdvisoryIndex(tx *bbolt.Tx) error {
	if !advisoryIndexDeferred(tx) {
		if err := buildAdvisoryIndex(tx); err != nil {
			return err
		}
	}
	if tx.Bucket(bucketOldAdvisoryIndex) == nil {
		return nil
	}
	return tx.DeleteBucket(bucketOldAdvisoryIndex)
}
