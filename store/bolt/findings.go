package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// SyncFindings reconciles a host's current findings with its stored
// finding records in one transaction, updates the host's reboot state, and
// returns the events of the change.
func (s *Store) SyncFindings(ctx context.Context, h patchwatch.Host, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	var events []patchwatch.Event
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		events, err = syncFindingsTx(tx, h, findings, rebootRequired, now)
		return err
	})
	return events, err
}

func syncFindingsTx(tx *bbolt.Tx, h patchwatch.Host, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	rec, err := hostSkeletonTx(tx, h.Name, nil)
	if err != nil {
		return nil, err
	}
	return syncFindingsPrevTx(tx, h, rec, findings, rebootRequired, now, &batchHelp{})
}

// batchHelp is what a batched write brings to one host's: an intern table
// shared by the batch's hosts for the strings of the records it decodes,
// space for those records (reused from one host to the next: Reconcile
// copies what it keeps), and the host's findings encoded ahead (each may
// be nil).
type batchHelp struct {
	intern  *interner
	records []patchwatch.FindingRecord
	// next is the array of the last host's reconciled records, done with
	// once its write is.
	next    []patchwatch.FindingRecord
	encoded [][]byte
	// detailBuf and recordBuf build the host's details and open records.
	detailBuf, recordBuf valueBuffers
}

// syncFindingsPrevTx is syncFindingsTx given the host's stored record (nil
// when it has none).
func syncFindingsPrevTx(tx *bbolt.Tx, h patchwatch.Host, rec *patchwatch.HostRecord, findings []patchwatch.Finding, rebootRequired bool, now time.Time, help *batchHelp) ([]patchwatch.Event, error) {
	prev, err := hostRecordsInto(tx, h.Name, help.records, help.intern)
	if err != nil {
		return nil, err
	}
	help.records = prev
	next, events := patchwatch.ReconcileInto(help.next, h.Name, h.Owner, prev, findings, now)
	help.next = next
	if err := putRecords(tx, h.Name, prev, next, &help.recordBuf); err != nil {
		return nil, err
	}
	// The notifier's input is queued in the same transaction as the change.
	if err := queueEvents(tx, h.Owner, h.Project, events); err != nil {
		return nil, err
	}
	states := tx.Bucket(bucketHostState)
	var st store.HostState
	stored := states.Get([]byte(h.Name))
	if stored != nil {
		if err := json.Unmarshal(stored, &st); err != nil {
			return nil, fmt.Errorf("decode state of host %s: %w", h.Name, err)
		}
	}
	switch {
	case rebootRequired && st.RebootRequiredSince.IsZero():
		st.RebootRequiredSince = now
	case !rebootRequired:
		st.RebootRequiredSince = time.Time{}
	}
	data, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(stored, data) {
		if err := states.Put([]byte(h.Name), data); err != nil {
			return nil, err
		}
	}
	return events, putReadModelPrevTx(tx, &h, rec, findings, help.encoded, next, st.RebootRequiredSince, &help.detailBuf)
}

// FindingRecords returns the stored finding records of one host, or of
// every host when host is empty.
func (s *Store) FindingRecords(ctx context.Context, host string) ([]patchwatch.FindingRecord, error) {
	var out []patchwatch.FindingRecord
	err := s.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketFindings) == nil {
			return nil
		}
		if host != "" {
			var err error
			out, err = hostRecords(tx, host)
			return err
		}
		return eachFindingRecord(tx, newInterner(), func(r *patchwatch.FindingRecord) error {
			out = append(out, *r)
			return nil
		})
	})
	return out, err
}

// EachFindingRecord calls fn with every stored finding record, in (host,
// advisory) order, one at a time: a report over the whole history (time to
// patch) holds none of them.
func (s *Store) EachFindingRecord(ctx context.Context, fn func(*patchwatch.FindingRecord) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		if err := eachFindingRecord(tx, newInterner(), fn); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// HostStates returns every host's state by name.
func (s *Store) HostStates(ctx context.Context) (map[string]store.HostState, error) {
	out := map[string]store.HostState{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketHostState)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var st store.HostState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode state of host %s: %w", k, err)
			}
			out[string(k)] = st
			return nil
		})
	})
	return out, err
}

// RemoveHost deletes a host, resolving its open findings as
// "host-removed", releasing its enrollment and revoking its host tokens;
// ErrNotFound if it is not stored.
func (s *Store) RemoveHost(ctx context.Context, name string, now time.Time) ([]patchwatch.Event, error) {
	var events []patchwatch.Event
	err := s.update(func(tx *bbolt.Tx) error {
		hosts := tx.Bucket(bucketHosts)
		if hosts.Get([]byte(name)) == nil {
			if tx.Bucket(bucketEnrollments).Get([]byte(name)) != nil {
				return releaseHostTx(tx, name) // enrolled, never reported
			}
			return fmt.Errorf("host %s: %w", name, store.ErrNotFound)
		}
		prev, err := hostRecords(tx, name)
		if err != nil {
			return err
		}
		next, evs := patchwatch.ResolveHost(prev, now)
		if err := putRecords(tx, name, prev, next, &valueBuffers{}); err != nil {
			return err
		}
		events = evs
		if err := removeReadModelTx(tx, name); err != nil {
			return err
		}
		if err := unindexHostTx(tx, name); err != nil {
			return err
		}
		if err := tx.Bucket(bucketHostState).Delete([]byte(name)); err != nil {
			return err
		}
		if err := releaseHostTx(tx, name); err != nil {
			return err
		}
		return hosts.Delete([]byte(name))
	})
	return events, err
}
