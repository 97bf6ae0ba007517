package bolt

import (
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// PutHost stores a host with its latest inventory, replacing the previous
// one, and indexes it under every (release, package name) in index so that
// a new advisory finds the hosts it may concern without a scan.
func (s *Store) PutHost(ctx context.Context, h patchwatch.Host, index []store.ReleasePackage) error {
	if err := h.Validate(); err != nil {
		return err
	}
	seen := s.newTxIDs()
	err := s.update(func(tx *bbolt.Tx) error {
		data, err := encodeHost(tx, &h, seen, nil)
		if err != nil {
			return err
		}
		if err := putHostTx(tx, h.Name, data, index, seen, nil); err != nil {
			return err
		}
		// A host stored without evaluation has no findings yet.
		if tx.Bucket(bucketHostRecords).Get([]byte(h.Name)) == nil {
			return putReadModelTx(tx, &h, nil, nil, time.Time{})
		}
		return nil
	})
	if err == nil {
		seen.committed()
	}
	return err
}

// PutHosts stores many hosts in one transaction, as PutHost does each,
// without evaluating them: it flags the findings for a full re-evaluation
// (the service's), which is the way to bulk-load a fleet (a backfill, a
// move between databases).
func (s *Store) PutHosts(ctx context.Context, hosts []store.HostEntry) error {
	for i := range hosts {
		if err := hosts[i].Host.Validate(); err != nil {
			return err
		}
	}
	seen := s.newTxIDs()
	err := s.update(func(tx *bbolt.Tx) error {
		for i := range hosts {
			h := &hosts[i].Host
			data, err := encodeHost(tx, h, seen, nil)
			if err != nil {
				return err
			}
			if err := indexHostTx(tx, h.Name, hosts[i].Index, seen, nil); err != nil {
				return err
			}
			if err := tx.Bucket(bucketHosts).Put([]byte(h.Name), data); err != nil {
				return err
			}
			if tx.Bucket(bucketHostRecords).Get([]byte(h.Name)) == nil {
				if err := putReadModelTx(tx, h, nil, nil, time.Time{}); err != nil {
					return err
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := seen.flush(tx); err != nil {
			return err
		}
		if err := deferAdvisoryIndexIfEmpty(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyEvaluation, []byte("hosts were loaded in bulk"))
	})
	if err == nil {
		seen.committed()
	}
	return err
}

// putHostTx stores a host value and keeps the package index in step.
func putHostTx(tx *bbolt.Tx, name string, data []byte, index []store.ReleasePackage, seen *txIDs, pre *preparedHost) error {
	if err := indexHostTx(tx, name, index, seen, pre); err != nil {
		return err
	}
	if err := seen.flush(tx); err != nil {
		return err
	}
	return tx.Bucket(bucketHosts).Put([]byte(name), data)
}

// Host returns one host; store.ErrNotFound if it is not stored.
func (s *Store) Host(ctx context.Context, name string) (patchwatch.Host, error) {
	var h patchwatch.Host
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketHosts).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("host %s: %w", name, store.ErrNotFound)
		}
		var err error
		h, err = decodeHost(tx, []byte(name), v, &s.tuples)
		return err
	})
	return h, err
}

// Hosts returns every host in name order.
func (s *Store) Hosts(ctx context.Context) ([]patchwatch.Host, error) {
	var out []patchwatch.Host
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
			h, err := decodeHost(tx, k, v, &s.tuples)
			if err != nil {
				return err
			}
			out = append(out, h)
			return nil
		})
	})
	return out, err
}

// HostsAfter returns up to limit hosts in name order, starting past the
// host named after ("" for the first): a fleet walked in bounded pages,
// each its own short read transaction.
func (s *Store) HostsAfter(ctx context.Context, after string, limit int) ([]patchwatch.Host, error) {
	return s.HostsAfterReusing(ctx, after, limit, nil)
}

// HostsAfterReusing is HostsAfter decoding into reuse (a page the caller
// is done with), whose package slices it reuses: a job walking the fleet
// page by page allocates one page of inventories, not one per page.
func (s *Store) HostsAfterReusing(ctx context.Context, after string, limit int, reuse []patchwatch.Host) ([]patchwatch.Host, error) {
	out := reuse[:0]
	err := s.eachHostAfter(ctx, after, limit, func(tx *bbolt.Tx, k, v []byte) error {
		out = grow(out)
		return decodeHostInto(tx, k, v, &s.tuples, &out[len(out)-1])
	})
	return out, err
}

// eachHostAfter calls fn with up to limit stored hosts after the named one
// (from the first when after is empty), in name order, in one read
// transaction.
func (s *Store) eachHostAfter(ctx context.Context, after string, limit int, fn func(tx *bbolt.Tx, k, v []byte) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketHosts).Cursor()
		n := 0
		for k, v := firstAfter(c, after); k != nil && n < limit; k, v = c.Next() {
			if err := fn(tx, k, v); err != nil {
				return err
			}
			n++
		}
		return ctx.Err()
	})
}

// grow returns s one longer, reusing its capacity and what the new last
// element held (a page decoded into the one before).
func grow[T any](s []T) []T {
	if len(s) == cap(s) {
		var zero T
		return append(s, zero)
	}
	return s[:len(s)+1]
}

// firstAfter positions c on the first key after after (the first key
// when after is empty).
func firstAfter(c *bbolt.Cursor, after string) ([]byte, []byte) {
	if after == "" {
		return c.First()
	}
	k, v := c.Seek([]byte(after))
	if k != nil && string(k) == after {
		return c.Next()
	}
	return k, v
}

// CountHosts returns how many hosts are stored.
func (s *Store) CountHosts(ctx context.Context) (int, error) {
	n := 0
	err := s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketHosts).Stats().KeyN
		return nil
	})
	return n, err
}
