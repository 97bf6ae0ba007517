package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// WithdrawAdvisories removes advisories their source withdrew, with their
// fix index entries, and resolves the open findings they caused as
// "withdrawn" (queueing the resolved events for the notifier); it sets
// the feed's cursor in the same transaction when feed is not empty. IDs
// that are not stored are ignored, so a source may list every withdrawal
// it ever made each time. It returns the removed advisories, whose fixes
// name the hosts to re-evaluate.
func (s *Store) WithdrawAdvisories(ctx context.Context, feed string, withdrawals []store.Withdrawal, cursor []byte, now time.Time) ([]patchwatch.Advisory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var removed []patchwatch.Advisory
	err := s.update(func(tx *bbolt.Tx) error {
		removed = nil
		for _, w := range withdrawals {
			a, ok, err := withdraw(ctx, tx, w, now)
			if err != nil {
				return fmt.Errorf("withdraw advisory %s: %w", w.ID, err)
			}
			if ok {
				removed = append(removed, a)
				if err := advisoryWritten(tx); err != nil {
					return err
				}
			}
		}
		if feed != "" && cursor != nil {
			return tx.Bucket(bucketCursors).Put([]byte(feed), cursor)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// withdraw removes one advisory inside tx; false when it is not stored or
// was modified after the withdrawal.
func withdraw(ctx context.Context, tx *bbolt.Tx, w store.Withdrawal, now time.Time) (patchwatch.Advisory, bool, error) {
	id := w.ID
	advisories := tx.Bucket(bucketAdvisories)
	v := advisories.Get([]byte(id))
	if v == nil {
		return patchwatch.Advisory{}, false, nil
	}
	var a patchwatch.Advisory
	if err := json.Unmarshal(v, &a); err != nil {
		return patchwatch.Advisory{}, false, fmt.Errorf("decode: %w", err)
	}
	if !w.At.IsZero() && a.Modified.After(w.At) {
		return patchwatch.Advisory{}, false, nil
	}
	index := tx.Bucket(bucketFixIndex)
	for _, f := range a.Fixes {
		if err := index.Delete(fixKey(f.Release, f.Package, a.ID)); err != nil {
			return patchwatch.Advisory{}, false, err
		}
	}
	if err := advisories.Delete([]byte(id)); err != nil {
		return patchwatch.Advisory{}, false, err
	}
	hosts, err := indexedHosts(ctx, tx, a.Fixes)
	if err != nil {
		return patchwatch.Advisory{}, false, err
	}
	// Binary-only hosts are indexed under binaries the fixes may not name:
	// the hosts with an open finding of the advisory are the rest.
	for _, host := range advisoryHostsTx(tx, id) {
		if !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
	}
	for _, host := range hosts {
		if err := resolveWithdrawn(tx, host, id, now); err != nil {
			return patchwatch.Advisory{}, false, err
		}
	}
	return a, true, nil
}

// indexedHosts returns the hosts the package index lists for any fix's
// release and package: the hosts a finding can exist on.
func indexedHosts(ctx context.Context, tx *bbolt.Tx, fixes []patchwatch.Fix) ([]string, error) {
	pairs := make([]store.ReleasePackage, len(fixes))
	for i, f := range fixes {
		pairs[i] = store.ReleasePackage{Release: f.Release, Package: f.Package}
	}
	return hostsWithPackagesTx(ctx, tx, pairs)
}

// resolveWithdrawn closes a host's open finding of the advisory, if any.
func resolveWithdrawn(tx *bbolt.Tx, host, advisory string, now time.Time) error {
	r, err := takeOpenRecord(tx, host, advisory)
	if err != nil || r == nil {
		return err
	}
	r.ResolvedAt, r.ResolvedBy = now, store.ResolvedWithdrawn
	if err := tx.Bucket(bucketFindings).Put(pairKey(host, advisory), encodeFindingRecord(r)); err != nil {
		return err
	}
	if err := dropFromReadModelTx(tx, host, advisory); err != nil {
		return err
	}
	// Only the project is needed to route the event.
	var h struct {
		Project string `json:"project"`
	}
	if v := tx.Bucket(bucketHosts).Get([]byte(host)); v != nil {
		head, _, err := hostHead(v)
		if err == nil {
			err = json.Unmarshal(head, &h)
		}
		if err != nil {
			return fmt.Errorf("decode host %s: %w", host, err)
		}
	}
	return queueEvents(tx, r.Owner, h.Project, []patchwatch.Event{
		{Kind: patchwatch.EventResolved, Host: host, Advisory: advisory, Urgency: r.Urgency, At: now},
	})
}

// dropFromReadModelTx takes one resolved finding out of a host's read
// model (its record's briefs, the finding details and the advisory index),
// so that queries stop listing it in the same transaction.
func dropFromReadModelTx(tx *bbolt.Tx, host, advisory string) error {
	if err := dropDetail(tx, host, advisory); err != nil {
		return err
	}
	if err := setAdvisoryHostTx(tx, host, advisory, false); err != nil {
		return err
	}
	rec, err := hostRecordTx(tx, host)
	if err != nil || rec == nil {
		return err
	}
	before := *rec
	before.Findings = slices.Clone(rec.Findings)
	rec.Findings = slices.DeleteFunc(rec.Findings, func(b patchwatch.FindingBrief) bool { return b.Advisory == advisory })
	if err := indexUrgenciesTx(tx, host, &before, rec); err != nil {
		return err
	}
	return tx.Bucket(bucketHostRecords).Put([]byte(host), encodeHostRecord(rec))
}
