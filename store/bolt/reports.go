package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// ApplyReport stores a host's report and the change in its findings in one
// durable transaction, batched with concurrent callers (bbolt's Batch), so
// that a report is acknowledged only once it is on disk.
func (s *Store) ApplyReport(ctx context.Context, h patchwatch.Host, index []store.ReleasePackage, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	// Done before the serialised write: the host's JSON and the IDs of
	// its tuples and pairs already committed.
	pre, err := s.prepareHost(&h, index)
	if err != nil {
		return nil, err
	}
	return s.applyReport(h, index, pre, findings, rebootRequired, now)
}

// PrepareReport does, ahead of a report's write, what ApplyReport does
// before its transaction: the host's JSON, and the IDs of its package
// tuples and pairs already committed. It returns the tuple IDs, ids[i]
// that of h.Packages[i] (0: not stored yet), with which the service
// matches the report through its verdict memo, and what
// ApplyPreparedReport takes to store the same host and index.
func (s *Store) PrepareReport(ctx context.Context, h *patchwatch.Host, index []store.ReleasePackage) (ids []uint32, prepared any, err error) {
	if err := h.Validate(); err != nil {
		return nil, nil, err
	}
	pre, err := s.prepareHost(h, index)
	if err != nil {
		return nil, nil, err
	}
	return pre.tuples, pre, ctx.Err()
}

// ApplyPreparedReport is ApplyReport of the host and index PrepareReport
// prepared.
func (s *Store) ApplyPreparedReport(ctx context.Context, h patchwatch.Host, index []store.ReleasePackage, prepared any, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	pre, ok := prepared.(*preparedHost)
	if !ok || !pre.usable(&h, index) {
		return s.ApplyReport(ctx, h, index, findings, rebootRequired, now)
	}
	return s.applyReport(h, index, pre, findings, rebootRequired, now)
}

func (s *Store) applyReport(h patchwatch.Host, index []store.ReleasePackage, pre *preparedHost, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	var events []patchwatch.Event
	var seen *txIDs
	err := s.batch(func(tx *bbolt.Tx) error {
		events = nil
		// Fresh for every run: Batch may run this again alone after the
		// combined transaction failed.
		seen = s.newTxIDs()
		var prev struct {
			Checks []patchwatch.CheckResult `json:"checks"`
		}
		if old := tx.Bucket(bucketHosts).Get([]byte(h.Name)); old != nil {
			head, _, err := hostHead(old)
			if err == nil {
				err = json.Unmarshal(head, &prev)
			}
			if err != nil {
				return fmt.Errorf("decode host %s: %w", h.Name, err)
			}
		}
		data, err := encodeHost(tx, &h, seen, pre)
		if err != nil {
			return err
		}
		if err := putHostTx(tx, h.Name, data, index, seen, pre); err != nil {
			return err
		}
		evs, err := syncFindingsTx(tx, h, findings, rebootRequired, now)
		if err != nil {
			return err
		}
		// A report without checks (a hand import) says nothing about them.
		if h.Checks != nil {
			checkEvents := patchwatch.CheckEvents(h.Name, prev.Checks, h.Checks, now)
			if err := queueEvents(tx, h.Owner, h.Project, checkEvents); err != nil {
				return err
			}
			evs = append(evs, checkEvents...)
		}
		events = evs
		return nil
	})
	if err == nil {
		seen.committed()
	}
	return events, err
}
