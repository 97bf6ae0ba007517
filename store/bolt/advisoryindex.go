package bolt

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"

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
	var old uint64
	if v := h.b.Get(key); len(v) == 8 {
		old = binary.BigEndian.Uint64(v)
	}
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
// of advisory id: through the index, one read per shard, or while it is
// deferred through the details' keys.
func advisoryHostsTx(tx *bbolt.Tx, id string) []string {
	var out []string
	if advisoryIndexDeferred(tx) {
		c := tx.Bucket(bucketFindingDetails).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if host, advisory, ok := bytes.Cut(k, []byte{0}); ok && string(advisory) == id {
				out = append(out, string(host))
			}
		}
		return out
	}
	b, names := tx.Bucket(bucketAdvisoryBits), tx.Bucket(bucketHostNames)
	if b == nil {
		return oldAdvisoryHostsTx(tx, id)
	}
	shards := uint32(tx.Bucket(bucketHostIDs).Sequence()/hostsPerShard) + 1
	key := advisoryBitsKey(0, id)
	for shard := range shards {
		binary.BigEndian.PutUint32(key, shard)
		v := b.Get(key)
		if len(v) != 8 {
			continue
		}
		for word := binary.BigEndian.Uint64(v); word != 0; word &= word - 1 {
			if name := names.Get(u32(shard*hostsPerShard + uint32(bits.TrailingZeros64(word)))); name != nil {
				out = append(out, string(name))
			}
		}
	}
	slices.Sort(out)
	return out
}

// oldAdvisoryHostsTx reads schema 7's index, of a database opened
// read-only (not migrated).
func oldAdvisoryHostsTx(tx *bbolt.Tx, id string) []string {
	b := tx.Bucket(bucketOldAdvisoryIndex)
	if b == nil {
		return nil
	}
	var out []string
	prefix := pairKey(id, "")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
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
	entries := map[string]uint64{}
	var host hostAdvisories
	var last []byte
	c := tx.Bucket(bucketFindingDetails).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		name, advisory, ok := bytes.Cut(k, []byte{0})
		if !ok {
			continue
		}
		if !bytes.Equal(name, last) {
			if host, _, err = hostAdvisoriesTx(tx, string(name), true); err != nil {
				return err
			}
			last = append(last[:0], name...)
		}
		entries[string(advisoryBitsKey(host.shard, string(advisory)))] |= host.bit
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.FillPercent = denseFill
	for _, k := range keys {
		if err := b.Put([]byte(k), binary.BigEndian.AppendUint64(nil, entries[k])); err != nil {
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
