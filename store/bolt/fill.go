package bolt

import bbolt "go.etcd.io/bbolt"

// denseFill is how full bbolt leaves a page when it splits one, for the
// buckets below. bbolt's default (half) suits random inserts; these
// buckets are written mostly in key order (a host's records, findings and
// details under its name, sequence keys), so half-full pages would double
// both the file and the pages a whole-fleet walk keeps mapped.
const denseFill = 0.9

var denseBuckets = [][]byte{
	bucketAdvisories, bucketFindings, bucketHosts, bucketEvents,
	bucketHostRecords, bucketHostDetails, bucketOpenRecords,
	bucketTuples, bucketHostPairs, bucketPackageBlocks,
}

// packed sets the fill of the dense buckets for a write transaction (a
// bucket handle is cached for the transaction, and its fill is read when
// the transaction commits).
func packed(tx *bbolt.Tx) {
	for _, name := range denseBuckets {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = denseFill
		}
	}
}

// update runs fn in a write transaction with the dense buckets packed.
func (s *Store) update(fn func(tx *bbolt.Tx) error) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		packed(tx)
		return fn(tx)
	})
}

// batch is update, batched with concurrent callers (bbolt's Batch: fn may
// run more than once).
func (s *Store) batch(fn func(tx *bbolt.Tx) error) error {
	return s.db.Batch(func(tx *bbolt.Tx) error {
		packed(tx)
		return fn(tx)
	})
}
