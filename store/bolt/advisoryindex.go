package bolt

import (
	"bytes"
	"slices"

	bbolt "go.etcd.io/bbolt"
)

// The advisory index (advisory NUL host) is the finding details' keys
// (host NUL advisory) the other way round. A fleet's first evaluation adds
// all of it in host order, which is a random order for the index: every
// commit rewrote most of its pages (four of five pages a first evaluation
// wrote at 100,000 hosts). So a bulk load into a database with no findings
// defers the index: while deferred, writes leave it alone and readers find
// an advisory's hosts from the details' keys; the end of the full
// re-evaluation (SetEvaluationPending("")) builds it in one sorted pass.

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

// advisoryHostsTx returns, in name order, the hosts with an open finding
// of advisory id: through the index, or while it is deferred through the
// details' keys.
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
	prefix := pairKey(id, "")
	c := tx.Bucket(bucketAdvisoryIndex).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// buildDeferredAdvisoryIndex builds the index from the details' keys if it
// is deferred, in key order into packed pages, and ends the deferral.
func buildDeferredAdvisoryIndex(tx *bbolt.Tx) error {
	if !advisoryIndexDeferred(tx) {
		return nil
	}
	b := tx.Bucket(bucketAdvisoryIndex)
	// Entries written before the deferral, if any, are in the details too.
	for k, _ := b.Cursor().First(); k != nil; k, _ = b.Cursor().First() {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	var keys [][]byte
	var buf []byte
	c := tx.Bucket(bucketFindingDetails).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		host, advisory, ok := bytes.Cut(k, []byte{0})
		if !ok {
			continue
		}
		if cap(buf)-len(buf) < len(k) {
			buf = make([]byte, 0, max(1<<20, len(k)))
		}
		start := len(buf)
		buf = append(append(append(buf, advisory...), 0), host...)
		keys = append(keys, buf[start:len(buf):len(buf)])
	}
	slices.SortFunc(keys, bytes.Compare)
	b.FillPercent = denseFill
	for _, k := range keys {
		if err := b.Put(k, nil); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Delete(keyAdvisoryIndexDeferred)
}
