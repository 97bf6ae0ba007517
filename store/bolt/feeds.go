package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
)

// Cursor returns a feed's cursor, or nil when the feed never committed one.
func (s *Store) Cursor(ctx context.Context, feed string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketCursors).Get([]byte(feed)); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	return out, err
}

// ReplaceKEV stores a whole KEV catalog in place of the previous one, and
// sets the feed's cursor in the same transaction when feed is not empty.
func (s *Store) ReplaceKEV(ctx context.Context, entries []patchwatch.KEVEntry, feed string, cursor []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket(bucketKEV); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketKEV)
		if err != nil {
			return err
		}
		for _, e := range entries {
			data, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(e.CVE), data); err != nil {
				return err
			}
		}
		if feed != "" {
			return tx.Bucket(bucketCursors).Put([]byte(feed), cursor)
		}
		return nil
	})
}

// KEV returns the catalog entries of the given CVEs that are listed.
func (s *Store) KEV(ctx context.Context, cves []string) (map[string]patchwatch.KEVEntry, error) {
	out := map[string]patchwatch.KEVEntry{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKEV)
		if b == nil {
			return nil
		}
		for _, cve := range cves {
			v := b.Get([]byte(cve))
			if v == nil {
				continue
			}
			var e patchwatch.KEVEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode KEV entry %s: %w", cve, err)
			}
			out[cve] = e
		}
		return nil
	})
	return out, err
}

// CountKEV returns how many KEV entries are stored.
func (s *Store) CountKEV(ctx context.Context) (int, error) {
	n := 0
	err := s.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketKEV); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// ReplaceUrgencies stores the tracker's urgencies in place of the previous
// set, and sets the feed's cursor in the same transaction when feed is set.
func (s *Store) ReplaceUrgencies(ctx context.Context, urgencies []patchwatch.CVEUrgency, feed string, cursor []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket(bucketUrgency); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketUrgency)
		if err != nil {
			return err
		}
		for _, u := range urgencies {
			if err := b.Put(fixKey(u.Release, u.Package, u.CVE), []byte(u.Urgency)); err != nil {
				return err
			}
		}
		if feed != "" {
			return tx.Bucket(bucketCursors).Put([]byte(feed), cursor)
		}
		return nil
	})
}

// Urgencies returns the tracker's urgencies of a source package on a
// release, by CVE.
func (s *Store) Urgencies(ctx context.Context, release, pkg string) (map[string]string, error) {
	out := map[string]string{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := fixKey(release, pkg, "")
		b := tx.Bucket(bucketUrgency)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			out[string(k[len(prefix):])] = string(v)
		}
		return nil
	})
	return out, err
}

// HasRelease reports whether any stored advisory fixes a package on release.
func (s *Store) HasRelease(ctx context.Context, release string) (bool, error) {
	found := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := append([]byte(release), 0)
		k, _ := tx.Bucket(bucketFixIndex).Cursor().Seek(prefix)
		found = k != nil && bytes.HasPrefix(k, prefix)
		return nil
	})
	return found, err
}
