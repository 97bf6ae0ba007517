package bolt

import (
	"context"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
)

// The urgency index lists, for each urgency, the hosts with an open
// finding stored at it (urgency_hosts: one byte, the host's name), so
// that a listing of the critical findings reads only the hosts that have
// some. It is kept with the host records, in the same transactions.

func urgencyKey(u patchwatch.Urgency, host string) []byte {
	return append([]byte{byte(u)}, host...)
}

// urgenciesOf returns the distinct urgencies of a record's briefs.
func urgenciesOf(rec *patchwatch.HostRecord) []patchwatch.Urgency {
	var out []patchwatch.Urgency
	if rec == nil {
		return nil
	}
	for _, b := range rec.Findings {
		if !slices.Contains(out, b.Urgency) {
			out = append(out, b.Urgency)
		}
	}
	return out
}

// indexUrgenciesTx brings a host's index entries from those of its record
// before (nil: none) to those of its record now (nil: removed).
func indexUrgenciesTx(tx *bbolt.Tx, host string, before, now *patchwatch.HostRecord) error {
	b := tx.Bucket(bucketUrgencyIndex)
	if b == nil {
		return nil // schema 5 opened read-only never writes
	}
	keep, had := urgenciesOf(now), urgenciesOf(before)
	for _, u := range had {
		if !slices.Contains(keep, u) {
			if err := b.Delete(urgencyKey(u, host)); err != nil {
				return err
			}
		}
	}
	for _, u := range keep {
		if slices.Contains(had, u) {
			continue // indexed with the record before
		}
		// Not indexed, as the record before had none at u: no lookup
		// first (a first evaluation adds 300,000 entries).
		if err := b.Put(urgencyKey(u, host), nil); err != nil {
			return err
		}
	}
	return nil
}

// buildUrgencyIndex fills the index from the stored host records (the
// migration to schema 7).
func buildUrgencyIndex(tx *bbolt.Tx) error {
	b := tx.Bucket(bucketUrgencyIndex)
	return tx.Bucket(bucketHostRecords).ForEach(func(k, v []byte) error {
		var rec patchwatch.HostRecord
		if err := decodeHostRecord(v, &rec); err != nil {
			return err
		}
		for _, u := range urgenciesOf(&rec) {
			if err := b.Put(urgencyKey(u, string(k)), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// HostsWithUrgency returns, in name order, the hosts with an open finding
// whose stored urgency is one of urgencies.
func (s *Store) HostsWithUrgency(ctx context.Context, urgencies []patchwatch.Urgency) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUrgencyIndex)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for _, u := range urgencies {
			prefix := []byte{byte(u)}
			for k, _ := c.Seek(prefix); len(k) > 0 && k[0] == prefix[0]; k, _ = c.Next() {
				out = append(out, string(k[1:]))
			}
		}
		return ctx.Err()
	})
	slices.Sort(out)
	return slices.Compact(out), err
}
