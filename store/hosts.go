package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
)

// PutHost stores a host with its latest inventory, replacing the previous
// one, and indexes it under every (release, package name) in index so that
// a new advisory finds the hosts it may concern without a scan.
func (s *Store) PutHost(ctx context.Context, h patchwatch.Host, index []ReleasePackage) error {
	if err := h.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode host %s: %w", h.Name, err)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := putHostTx(tx, h.Name, data, index); err != nil {
			return err
		}
		// A host stored without evaluation has no findings yet.
		if tx.Bucket(bucketHostRecords).Get([]byte(h.Name)) == nil {
			return putReadModelTx(tx, &h, nil, nil, time.Time{})
		}
		return nil
	})
}

func putHostTx(tx *bolt.Tx, name string, data []byte, index []ReleasePackage) error {
	idx := tx.Bucket(bucketHostIndex)
	listKey := hostIndexListKey(name)
	// A digest of the index set: a report that repeats the inventory before
	// it (the common case) touches no index key at all.
	digest := indexDigest(index)
	digestKey := append(bytes.Clone(listKey), 0)
	if bytes.Equal(idx.Get(digestKey), digest) {
		return tx.Bucket(bucketHosts).Put([]byte(name), data)
	}
	if err := idx.Put(digestKey, digest); err != nil {
		return err
	}
	old := map[string]bool{}
	if v := idx.Get(listKey); v != nil {
		var keys [][]byte
		if err := json.Unmarshal(v, &keys); err != nil {
			return fmt.Errorf("decode index of host %s: %w", name, err)
		}
		for _, k := range keys {
			old[string(k)] = true
		}
	}
	// Most reports repeat the inventory before them: touch only the index
	// keys that changed.
	keys := make([][]byte, 0, len(index))
	seen := make(map[string]bool, len(index))
	for _, rp := range index {
		k := fixKey(rp.Release, rp.Package, name)
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		keys = append(keys, k)
		if old[string(k)] {
			delete(old, string(k))
			continue
		}
		if err := idx.Put(k, nil); err != nil {
			return err
		}
	}
	for k := range old {
		if err := idx.Delete([]byte(k)); err != nil {
			return err
		}
	}
	// The host's own list of its index keys, to diff against next time.
	own, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	if err := idx.Put(listKey, own); err != nil {
		return err
	}
	return tx.Bucket(bucketHosts).Put([]byte(name), data)
}

// ReleasePackage is one (release, package name) pair a host is indexed under.
type ReleasePackage struct{ Release, Package string }

// indexDigest hashes an index set in the order given (callers give a
// stable order).
func indexDigest(index []ReleasePackage) []byte {
	h := sha256.New()
	for _, rp := range index {
		h.Write([]byte(rp.Release))
		h.Write([]byte{0})
		h.Write([]byte(rp.Package))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// hostIndexListKey sorts apart from release keys (a release never starts
// with NUL).
func hostIndexListKey(host string) []byte { return append([]byte{0}, host...) }

func unindexHost(tx *bolt.Tx, host string) error {
	idx := tx.Bucket(bucketHostIndex)
	listKey := hostIndexListKey(host)
	if err := idx.Delete(append(bytes.Clone(listKey), 0)); err != nil {
		return err
	}
	old := idx.Get(listKey)
	if old == nil {
		return nil
	}
	var keys [][]byte
	if err := json.Unmarshal(old, &keys); err != nil {
		return fmt.Errorf("decode index of host %s: %w", host, err)
	}
	for _, k := range keys {
		if err := idx.Delete(k); err != nil {
			return err
		}
	}
	return idx.Delete(listKey)
}

// HostsWithPackages returns the names of the hosts indexed under any of
// the (release, package) pairs.
func (s *Store) HostsWithPackages(ctx context.Context, pairs []ReleasePackage) ([]string, error) {
	found := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHostIndex)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for _, rp := range pairs {
			prefix := fixKey(rp.Release, rp.Package, "")
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				found[string(k[len(prefix):])] = true
			}
		}
		return nil
	})
	out := make([]string, 0, len(found))
	for h := range found {
		out = append(out, h)
	}
	slices.Sort(out)
	return out, err
}

// Host returns one host; ErrNotFound if it is not stored.
func (s *Store) Host(ctx context.Context, name string) (patchwatch.Host, error) {
	var h patchwatch.Host
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketHosts).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("host %s: %w", name, ErrNotFound)
		}
		return json.Unmarshal(v, &h)
	})
	return h, err
}

// Hosts returns every host in name order.
func (s *Store) Hosts(ctx context.Context) ([]patchwatch.Host, error) {
	var out []patchwatch.Host
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
			var h patchwatch.Host
			if err := json.Unmarshal(v, &h); err != nil {
				return fmt.Errorf("decode host %s: %w", k, err)
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
	var out []patchwatch.Host
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHosts).Cursor()
		k, v := c.First()
		if after != "" {
			if k, v = c.Seek([]byte(after)); k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(out) < limit; k, v = c.Next() {
			var h patchwatch.Host
			if err := json.Unmarshal(v, &h); err != nil {
				return fmt.Errorf("decode host %s: %w", k, err)
			}
			out = append(out, h)
		}
		return ctx.Err()
	})
	return out, err
}

// CountHosts returns how many hosts are stored.
func (s *Store) CountHosts(ctx context.Context) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketHosts).Stats().KeyN
		return nil
	})
	return n, err
}
