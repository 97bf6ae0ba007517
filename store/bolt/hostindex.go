package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch/store"
)

// The package index finds the hosts that have a (release, package name)
// pair, so that a new advisory reaches its hosts without a scan. It is
// sharded by host so that adding a host touches only its shard's pages,
// whatever the size of the fleet (issue 17: the old release/package/host
// keys scattered one host's 1,300+ keys over the whole tree):
//
//	host_ids          host -> id (uint32 BE); host_names id -> host
//	package_pair_ids  release NUL package -> pair id (uint32 BE)
//	package_host_blocks  shard, block of pair ids -> bitmaps of the shard's
//	                  hosts, one per pair (below)
//	host_pairs        host -> digest of its pairs, then its pair ids (uvarint)
//
// A shard holds hostsPerShard consecutive host ids, one bit each.
const hostsPerShard = 64

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// sequenceID returns the id of key in ids, giving it the bucket's next
// sequence (and recording the reverse in names, when not nil) if create.
func sequenceID(ids, names *bbolt.Bucket, key []byte, create bool) (uint32, bool, error) {
	if v := ids.Get(key); len(v) == 4 {
		return binary.BigEndian.Uint32(v), true, nil
	}
	if !create {
		return 0, false, nil
	}
	seq, err := ids.NextSequence()
	if err != nil {
		return 0, false, err
	}
	if seq > 1<<32-1 {
		return 0, false, errors.New("id space exhausted")
	}
	id := uint32(seq)
	if err := ids.Put(key, u32(id)); err != nil {
		return 0, false, err
	}
	if names != nil {
		if err := names.Put(u32(id), key); err != nil {
			return 0, false, err
		}
	}
	return id, true, nil
}

// Schema 7 groups a shard's bitmaps by blocks of pairsPerBlock pair IDs,
// one value per (shard, block): a host's pairs, handed out in the order
// they were first seen, fall into a few dozen blocks, so a new host's
// indexing reads and writes a few dozen values instead of one key per pair
// (issue 18: ~1,900 B-tree insertions per report were half the intake's
// write transaction).
//
//	package_host_blocks  shard (uint32 BE) block (uint32 BE) -> presence
//	                     bitmap of the block's pairs (pairsPerBlock bits),
//	                     then one uint64 BE host bitmap per present pair,
//	                     in pair order
const pairsPerBlock = 256

const blockHeader = pairsPerBlock / 8

func blockKey(shard, block uint32) []byte {
	return binary.BigEndian.AppendUint32(u32(shard), block)
}

// blockBits is one block decoded: each pair's host bitmap.
type blockBits [pairsPerBlock]uint64

func decodeBlock(v []byte, into *blockBits) {
	clear(into[:])
	if len(v) < blockHeader {
		return
	}
	at := blockHeader
	for i := range pairsPerBlock {
		if v[i/8]&(1<<(i%8)) != 0 && at+8 <= len(v) {
			into[i] = binary.BigEndian.Uint64(v[at:])
			at += 8
		}
	}
}

// encodeBlock returns a block's value, nil when no bit is set.
func encodeBlock(bits *blockBits) []byte {
	n := 0
	for _, b := range bits {
		if b != 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]byte, blockHeader, blockHeader+8*n)
	for i, b := range bits {
		if b != 0 {
			out[i/8] |= 1 << (i % 8)
			out = binary.BigEndian.AppendUint64(out, b)
		}
	}
	return out
}

// blockPair returns, from a block's value, the host bitmap of pair.
func blockPair(v []byte, pair uint32) uint64 {
	i := int(pair % pairsPerBlock)
	if len(v) < blockHeader || v[i/8]&(1<<(i%8)) == 0 {
		return 0
	}
	// The pair's place among the present ones.
	at := 0
	for k := range i / 8 {
		at += bits.OnesCount8(v[k])
	}
	at += bits.OnesCount8(v[i/8] & (1<<(i%8) - 1))
	off := blockHeader + 8*at
	if off+8 > len(v) {
		return 0
	}
	return binary.BigEndian.Uint64(v[off:])
}

// blockChange is what a transaction sets and clears in one block.
type blockChange struct{ set, clear blockBits }

// bitChanges gathers the bits a transaction sets and clears, so that each
// block is read and written once, in key order.
type bitChanges map[uint64]*blockChange // shard<<32 | block

func (c bitChanges) add(host, pair uint32, on bool) {
	k := uint64(host/hostsPerShard)<<32 | uint64(pair/pairsPerBlock)
	m := c[k]
	if m == nil {
		m = &blockChange{}
		c[k] = m
	}
	i, bit := pair%pairsPerBlock, uint64(1)<<(host%hostsPerShard)
	if on {
		m.set[i] |= bit
		m.clear[i] &^= bit
	} else {
		m.clear[i] |= bit
		m.set[i] &^= bit
	}
}

// apply writes the gathered changes, deleting blocks left empty.
func (c bitChanges) apply(b *bbolt.Bucket) error {
	keys := make([]uint64, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var cur, next blockBits
	for _, k := range keys {
		key := blockKey(uint32(k>>32), uint32(k))
		old := b.Get(key)
		decodeBlock(old, &cur)
		m := c[k]
		changed := false
		for i := range next {
			next[i] = cur[i]&^m.clear[i] | m.set[i]
			changed = changed || next[i] != cur[i]
		}
		if !changed {
			continue
		}
		var err error
		if v := encodeBlock(&next); v == nil {
			err = b.Delete(key)
		} else {
			err = b.Put(key, v)
		}
		if err != nil {
			return err
		}
	}
	clear(c)
	return nil
}

// migratePackageBlocks (schema 6 to 7) regroups schema 6's bitmaps (one
// key per shard and pair) into blocks and drops them.
func migratePackageBlocks(tx *bbolt.Tx) error {
	old := tx.Bucket(bucketOldPackageHosts)
	if old == nil {
		return nil
	}
	blocks := tx.Bucket(bucketPackageBlocks)
	var bits blockBits
	var at uint64
	pending := false
	flush := func() error {
		if !pending {
			return nil
		}
		pending = false
		v := encodeBlock(&bits)
		clear(bits[:])
		if v == nil {
			return nil
		}
		return blocks.Put(blockKey(uint32(at>>32), uint32(at)), v)
	}
	err := old.ForEach(func(k, v []byte) error {
		if len(k) != 8 || len(v) != 8 {
			return nil
		}
		shard, pair := binary.BigEndian.Uint32(k), binary.BigEndian.Uint32(k[4:])
		key := uint64(shard)<<32 | uint64(pair/pairsPerBlock)
		if pending && key != at {
			if err := flush(); err != nil {
				return err
			}
		}
		at, pending = key, true
		bits[pair%pairsPerBlock] = binary.BigEndian.Uint64(v)
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketOldPackageHosts)
}

func decodePairIDs(v []byte) []uint32 {
	var out []uint32
	for len(v) > 0 {
		id, k := binary.Uvarint(v)
		if k <= 0 {
			break
		}
		out = append(out, uint32(id))
		v = v[k:]
	}
	return out
}

// indexHostTx indexes a host under its pairs, touching only the bits that
// changed; a report that repeats its inventory touches nothing.
func indexHostTx(tx *bbolt.Tx, name string, index []store.ReleasePackage, seen *txIDs, pre *preparedHost) error {
	changes := bitChanges{}
	if seen != nil {
		changes = seen.bits // applied by seen.flush at the end of the transaction
	}
	own := tx.Bucket(bucketHostPairs)
	var digest []byte
	if pre != nil {
		digest = pre.digest
	} else {
		digest = store.IndexDigest(index)
	}
	prev := own.Get([]byte(name))
	if len(prev) >= sha256.Size && bytes.Equal(prev[:sha256.Size], digest) {
		return nil
	}
	host, _, err := sequenceID(tx.Bucket(bucketHostIDs), tx.Bucket(bucketHostNames), []byte(name), true)
	if err != nil {
		return err
	}
	var old []uint32
	if len(prev) >= sha256.Size {
		old = decodePairIDs(prev[sha256.Size:])
	}
	ids, err := hostPairIDs(tx, index, digest, seen, pre)
	if err != nil {
		return err
	}
	// Both lists are sorted: one merge finds what was added and removed.
	i, j := 0, 0
	for i < len(ids) || j < len(old) {
		switch {
		case j == len(old) || i < len(ids) && ids[i] < old[j]:
			changes.add(host, ids[i], true)
			i++
		case i == len(ids) || old[j] < ids[i]:
			changes.add(host, old[j], false)
			j++
		default:
			i++
			j++
		}
	}
	if seen == nil {
		if err := changes.apply(tx.Bucket(bucketPackageBlocks)); err != nil {
			return err
		}
	}
	out := make([]byte, 0, sha256.Size+3*len(ids))
	out = append(out, digest...)
	for _, id := range ids {
		out = binary.AppendUvarint(out, uint64(id))
	}
	return own.Put([]byte(name), out)
}

// hostPairIDs returns the sorted IDs of an index's pairs (of the given
// digest), adding those not stored yet. The set of an index already seen
// is shared and must not be changed; otherwise the IDs come from the
// prepared ones, those the transaction or earlier commits used and the
// B-tree, and the set is remembered.
func hostPairIDs(tx *bbolt.Tx, index []store.ReleasePackage, digest []byte, seen *txIDs, pre *preparedHost) ([]uint32, error) {
	if pre != nil && pre.pairSet != nil {
		return pre.pairSet, nil
	}
	if seen != nil {
		if set, ok := seen.pairSet(digest); ok {
			return set, nil
		}
	}
	pairIDs := tx.Bucket(bucketPairIDs)
	ids := make([]uint32, 0, len(index))
	for i, rp := range index {
		if pre != nil && pre.pairs[i] != 0 {
			ids = append(ids, pre.pairs[i])
			continue
		}
		key := pairKey(rp.Release, rp.Package)
		id, ok := uint32(0), false
		if seen != nil {
			if id, ok = seen.pairs[string(key)]; !ok {
				id, ok = seen.shared.lookup(false, key)
			}
		}
		if !ok {
			var err error
			if id, _, err = sequenceID(pairIDs, nil, key, true); err != nil {
				return nil, err
			}
			if seen != nil {
				seen.newPairs[string(key)] = id
			}
		}
		if seen != nil {
			seen.pairs[string(key)] = id
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if seen != nil {
		if seen.pairSets == nil {
			seen.pairSets = map[[sha256.Size]byte][]uint32{}
		}
		seen.pairSets[[sha256.Size]byte(digest)] = ids
	}
	return ids, nil
}

// unindexHostTx removes a host from the package index.
func unindexHostTx(tx *bbolt.Tx, name string) error {
	own := tx.Bucket(bucketHostPairs)
	prev := own.Get([]byte(name))
	host, ok, err := sequenceID(tx.Bucket(bucketHostIDs), nil, []byte(name), false)
	if err != nil || !ok {
		return err
	}
	if len(prev) >= sha256.Size {
		changes := bitChanges{}
		for _, id := range decodePairIDs(prev[sha256.Size:]) {
			changes.add(host, id, false)
		}
		if err := changes.apply(tx.Bucket(bucketPackageBlocks)); err != nil {
			return err
		}
	}
	if err := own.Delete([]byte(name)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketHostNames).Delete(u32(host)); err != nil {
		return err
	}
	return tx.Bucket(bucketHostIDs).Delete([]byte(name))
}

// HostsWithPackages returns, in name order, the hosts indexed under any of
// the (release, package) pairs: one read per pair and shard.
func (s *Store) HostsWithPackages(ctx context.Context, pairs []store.ReleasePackage) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = hostsWithPackagesTx(ctx, tx, pairs)
		return err
	})
	return out, err
}

// hostsWithPackagesTx is HostsWithPackages inside tx, in name order.
func hostsWithPackagesTx(ctx context.Context, tx *bbolt.Tx, pairs []store.ReleasePackage) ([]string, error) {
	hostIDs := tx.Bucket(bucketHostIDs)
	if hostIDs == nil {
		return nil, nil
	}
	shards := uint32(hostIDs.Sequence()/hostsPerShard) + 1
	pairIDs, blocks, names := tx.Bucket(bucketPairIDs), tx.Bucket(bucketPackageBlocks), tx.Bucket(bucketHostNames)
	if blocks == nil {
		return nil, nil // a schema 6 database opened read-only: not migrated yet
	}
	found := map[uint32]bool{}
	for _, rp := range pairs {
		pair, ok, err := sequenceID(pairIDs, nil, pairKey(rp.Release, rp.Package), false)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for shard := range shards {
			addHostBits(found, shard, blockPair(blocks.Get(blockKey(shard, pair/pairsPerBlock)), pair))
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return hostNames(names, found), nil
}

// addHostBits adds to found the IDs of the hosts set in a shard's bitmap.
func addHostBits(found map[uint32]bool, shard uint32, word uint64) {
	for ; word != 0; word &= word - 1 {
		found[shard*hostsPerShard+uint32(bits.TrailingZeros64(word))] = true
	}
}

// hostNames returns the names of the hosts of ids still stored (the
// host_names bucket), in name order.
func hostNames(names *bbolt.Bucket, ids map[uint32]bool) []string {
	var out []string
	for id := range ids {
		if name := names.Get(u32(id)); name != nil {
			out = append(out, string(name))
		}
	}
	slices.Sort(out)
	return out
}
