package bolt

import (
	"context"

	bbolt "go.etcd.io/bbolt"
)

// advisoryWritten counts a write of advisories (an insert, an update, a
// withdrawal) in the advisories bucket's sequence, which is the advisory
// generation: a service's long-lived matching state built from the
// advisories of one generation is exact while the generation stays.
func advisoryWritten(tx *bbolt.Tx) error {
	_, err := tx.Bucket(bucketAdvisories).NextSequence()
	return err
}

// AdvisoryGeneration returns a number that grows with every committed
// write of advisories (upserts that changed something, withdrawals).
func (s *Store) AdvisoryGeneration(ctx context.Context) (uint64, error) {
	var gen uint64
	err := s.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketAdvisories); b != nil {
			gen = b.Sequence()
		}
		return nil
	})
	return gen, err
}
