package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"

	gojson "github.com/goccy/go-json"
	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

func fixKey(release, pkg, id string) []byte {
	k := make([]byte, 0, len(release)+len(pkg)+len(id)+2)
	k = append(k, release...)
	k = append(k, 0)
	k = append(k, pkg...)
	k = append(k, 0)
	return append(k, id...)
}

// decodeAdvisory decodes a stored advisory with goccy/go-json, four to
// five times faster than encoding/json (a catalog decodes every advisory,
// intake the thousands naming a report's packages). They are still
// encoded with encoding/json, so that a copy fetched again unchanged keeps
// the bytes it is compared by. goccy's strings share the copy of v it
// decodes from: a catalog holds ~10% more (111 MB against 101).
func decodeAdvisory(v []byte, a *patchwatch.Advisory) error {
	return gojson.Unmarshal(v, a)
}

// upsert stores one advisory inside tx, keeping the fix index in step.
func upsert(tx *bbolt.Tx, a patchwatch.Advisory) (store.Outcome, error) {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return "", err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("encode advisory %s: %w", a.ID, err)
	}
	advisories, index := tx.Bucket(bucketAdvisories), tx.Bucket(bucketFixIndex)
	outcome := store.Inserted
	if old := advisories.Get([]byte(a.ID)); old != nil {
		if bytes.Equal(old, data) {
			return store.Unchanged, nil
		}
		var prev patchwatch.Advisory
		if err := decodeAdvisory(old, &prev); err != nil {
			return "", fmt.Errorf("decode stored advisory %s: %w", a.ID, err)
		}
		if a.Modified.Before(prev.Modified) {
			return store.Stale, nil
		}
		for _, f := range prev.Fixes {
			if err := index.Delete(fixKey(f.Release, f.Package, a.ID)); err != nil {
				return "", err
			}
		}
		outcome = store.Updated
	}
	if err := advisories.Put([]byte(a.ID), data); err != nil {
		return "", err
	}
	if err := advisoryWritten(tx); err != nil {
		return "", err
	}
	for _, f := range a.Fixes {
		if err := index.Put(fixKey(f.Release, f.Package, a.ID), nil); err != nil {
			return "", err
		}
	}
	if err := learnAdvisoryTx(tx, &a); err != nil {
		return "", err
	}
	return outcome, nil
}

// UpsertAdvisories stores advisories in one transaction: a new ID is
// inserted, a later modified time replaces the stored copy, an identical
// copy changes nothing, and an older copy is ignored as stale. It returns
// one outcome per advisory, in order.
func (s *Store) UpsertAdvisories(ctx context.Context, advisories []patchwatch.Advisory) ([]store.Outcome, error) {
	return s.CommitFeed(ctx, "", advisories, nil)
}

// CommitFeed upserts advisories and, in the same transaction, sets the
// feed's cursor, so that a cursor never runs ahead of what is stored. An
// empty feed name leaves every cursor alone.
func (s *Store) CommitFeed(ctx context.Context, feed string, advisories []patchwatch.Advisory, cursor []byte) ([]store.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outcomes := make([]store.Outcome, len(advisories))
	err := s.update(func(tx *bbolt.Tx) error {
		s.decoded.writing(uint64(tx.ID()))
		for i, a := range advisories {
			o, err := upsert(tx, a)
			if err != nil {
				return fmt.Errorf("store advisory %s: %w", a.ID, err)
			}
			outcomes[i] = o
		}
		if feed != "" && cursor != nil {
			return tx.Bucket(bucketCursors).Put([]byte(feed), cursor)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outcomes, nil
}

// Advisory returns one advisory; store.ErrNotFound if it is not stored.
func (s *Store) Advisory(ctx context.Context, id string) (patchwatch.Advisory, error) {
	var a patchwatch.Advisory
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketAdvisories).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("advisory %s: %w", id, store.ErrNotFound)
		}
		return decodeAdvisory(v, &a)
	})
	return a, err
}

// EachAdvisory calls fn for every stored advisory in ID order; an error
// from fn stops the walk and is returned. A full re-evaluation builds its
// catalog of every advisory through here, so the JSON is decoded on every
// core, a batch at a time, while fn takes the batches in order.
func (s *Store) EachAdvisory(ctx context.Context, fn func(patchwatch.Advisory) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		return eachDecoded(ctx, tx.Bucket(bucketAdvisories).Cursor(), fn)
	})
}

// advisoryBatch is a run of stored advisories, decoded by one worker.
type advisoryBatch struct {
	keys, values [][]byte
	decoded      []patchwatch.Advisory
	err          error
	done         chan struct{}
}

func (b *advisoryBatch) decode() {
	defer close(b.done)
	b.decoded = make([]patchwatch.Advisory, len(b.values))
	for i, v := range b.values {
		if err := decodeAdvisory(v, &b.decoded[i]); err != nil {
			b.decoded, b.err = b.decoded[:i], fmt.Errorf("decode advisory %s: %w", b.keys[i], err)
			return
		}
	}
}

// eachDecoded walks c, whose values are advisories, handing batches to a
// worker per core and fn the decoded advisories in the cursor's order. At
// most two batches per worker are decoded ahead of fn, and every worker
// has stopped when it returns: the values live in the transaction's
// pages.
func eachDecoded(ctx context.Context, c *bbolt.Cursor, fn func(patchwatch.Advisory) error) error {
	const batchSize = 256
	workers := runtime.GOMAXPROCS(0)
	ahead := 2 * workers
	todo := make(chan *advisoryBatch, ahead)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range todo {
				b.decode()
			}
		})
	}
	defer wg.Wait()
	defer close(todo)
	var pending []*advisoryBatch
	deliver := func() error {
		b := pending[0]
		pending = pending[1:]
		<-b.done
		// Those before a bad value are handed on, as one at a time would.
		for _, a := range b.decoded {
			if err := fn(a); err != nil {
				return err
			}
		}
		return b.err
	}
	next := &advisoryBatch{done: make(chan struct{})}
	for k, v := c.First(); ; k, v = c.Next() {
		if k != nil && v != nil {
			next.keys, next.values = append(next.keys, k), append(next.values, v)
		}
		if len(next.values) == batchSize || k == nil && len(next.values) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(pending) == ahead {
				if err := deliver(); err != nil {
					return err
				}
			}
			todo <- next
			pending = append(pending, next)
			next = &advisoryBatch{done: make(chan struct{})}
		}
		if k == nil {
			break
		}
	}
	for len(pending) > 0 {
		if err := deliver(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// CountAdvisories returns how many advisories are stored.
func (s *Store) CountAdvisories(ctx context.Context) (int, error) {
	n := 0
	err := s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketAdvisories).Stats().KeyN
		return nil
	})
	return n, err
}

// AdvisoriesFor returns the advisories with a fix for any of the packages
// on release, found through the fix index without scanning advisories.
func (s *Store) AdvisoriesFor(ctx context.Context, release string, packages []string) ([]patchwatch.Advisory, error) {
	var out []patchwatch.Advisory
	err := s.db.View(func(tx *bbolt.Tx) error {
		seen := map[string]bool{}
		ids := []string{}
		c := tx.Bucket(bucketFixIndex).Cursor()
		for _, pkg := range packages {
			prefix := fixKey(release, pkg, "")
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				id := string(k[len(prefix):])
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
		advisories := tx.Bucket(bucketAdvisories)
		snapshot := uint64(tx.ID())
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			if a, ok := s.decoded.get(id, snapshot); ok {
				out = append(out, a)
				continue
			}
			v := advisories.Get([]byte(id))
			if v == nil {
				return fmt.Errorf("fix index names missing advisory %s", id)
			}
			var a patchwatch.Advisory
			if err := decodeAdvisory(v, &a); err != nil {
				return fmt.Errorf("decode advisory %s: %w", id, err)
			}
			s.decoded.put(id, snapshot, a)
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// advisoryCache keeps decoded advisories for AdvisoriesFor, which every
// report's evaluation calls for the hundreds to thousands of advisories
// naming its packages (JSON decoding was half the intake's CPU). Each entry
// remembers the snapshot (bbolt transaction ID) it was read in, and the
// cache the IDs of the transactions that wrote advisories: a reader uses an
// entry only when no such write lies between the two snapshots, so every
// reader sees exactly what its own transaction holds.
type advisoryCache struct {
	mu      sync.RWMutex
	m       map[string]cachedAdvisory
	commits []uint64 // ascending
}

type cachedAdvisory struct {
	readAt uint64
	a      patchwatch.Advisory
}

func (c *advisoryCache) get(id string, snapshot uint64) (patchwatch.Advisory, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[id]
	if !ok {
		return patchwatch.Advisory{}, false
	}
	lo, hi := min(e.readAt, snapshot), max(e.readAt, snapshot)
	for _, w := range c.commits {
		if w > lo && w <= hi {
			return patchwatch.Advisory{}, false
		}
	}
	return e.a, true
}

func (c *advisoryCache) put(id string, snapshot uint64, a patchwatch.Advisory) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.commits) > 0 && snapshot < c.commits[len(c.commits)-1] {
		return // an old snapshot: keep the newest copies only
	}
	if c.m == nil {
		c.m = map[string]cachedAdvisory{}
	}
	c.m[id] = cachedAdvisory{readAt: snapshot, a: a}
}

// writing records a transaction that writes advisories, before it commits.
func (c *advisoryCache) writing(txid uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.commits) >= 64 {
		c.m, c.commits = nil, c.commits[:0]
	}
	c.commits = append(c.commits, txid)
}
