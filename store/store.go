// Package store persists advisories, hosts and feed cursors in bbolt, the
// embedded default database. It is the only package that imports bbolt.
package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/patchwatch/patchwatch"
)

// SchemaVersion is the layout version this code reads and writes. Open
// migrates older layouts forward and refuses newer ones.
const SchemaVersion = 5

// Bucket names. Keys sort: fix index keys are release, package and advisory
// ID separated by NUL, so one prefix scan finds the fixes for a package.
var (
	bucketMeta       = []byte("meta")
	bucketAdvisories = []byte("advisories")
	bucketFixIndex   = []byte("fix_index")
	bucketHosts      = []byte("hosts")
	bucketCursors    = []byte("cursors")
	bucketKEV        = []byte("kev")
	bucketUrgency    = []byte("debian_urgency")
	bucketFindings   = []byte("findings")      // host NUL advisory -> FindingRecord
	bucketHostState  = []byte("host_state")    // host -> HostState
	bucketHostIndex  = []byte("host_packages") // release NUL package NUL host -> empty
	bucketSilences   = []byte("silences")      // id -> Silence
	bucketTokens     = []byte("tokens")        // sha256 of the secret -> Token
	bucketTokenIDs   = []byte("token_ids")     // token id -> sha256 of the secret
	bucketEvents     = []byte("notify_events") // sequence -> NotifyEvent, waiting for the notifier
	bucketOutbox     = []byte("outbox")        // delivery id -> Delivery
	bucketNotified   = []byte("notified")      // host NUL advisory -> last notified time
	bucketNotifyMeta = []byte("notify_meta")   // digest schedules and snapshots

	keySchema = []byte("schema_version")
)

// Errors.
var (
	ErrNotFound = errors.New("not found")
	// ErrLocked is returned by Open when another process holds the database.
	ErrLocked = errors.New("database is in use by another process")
	// ErrSchema is returned by Open for a database written by a newer patchwatch.
	ErrSchema = errors.New("unsupported database schema")
)

// Store is a patchwatch database.
type Store struct {
	db *bolt.DB
}

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for another process's lock; default 2s.
	LockTimeout time.Duration
	ReadOnly    bool
}

// Open opens or creates the database at path, creating every bucket and
// migrating the schema in one transaction.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Store{db: db}
	if opts.ReadOnly {
		err = db.View(func(tx *bolt.Tx) error { return checkSchema(tx) })
	} else {
		err = db.Update(migrate)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: not a patchwatch database", ErrSchema)
	}
	v := meta.Get(keySchema)
	if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 || binary.BigEndian.Uint64(v) > SchemaVersion {
		return fmt.Errorf("%w: version %x, this build reads 1 to %d", ErrSchema, v, SchemaVersion)
	}
	return nil
}

// migrate brings any earlier layout to SchemaVersion. Every step so far
// only adds buckets (version 2: kev, debian_urgency; version 3: findings,
// host_state, host_packages, silences; version 4: tokens, token_ids;
// version 5: notify_events, outbox, notified, notify_meta), so creating
// the missing ones is
// the whole migration; a read-only open of an older database finds them
// absent, and the readers treat that as empty.
func migrate(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	current := uint64(0)
	if v := meta.Get(keySchema); len(v) == 8 {
		current = binary.BigEndian.Uint64(v)
	}
	if current > SchemaVersion {
		return fmt.Errorf("%w: database has version %d, this build reads up to %d", ErrSchema, current, SchemaVersion)
	}
	for _, name := range [][]byte{bucketAdvisories, bucketFixIndex, bucketHosts, bucketCursors, bucketKEV, bucketUrgency, bucketFindings, bucketHostState, bucketHostIndex, bucketSilences, bucketTokens, bucketTokenIDs, bucketEvents, bucketOutbox, bucketNotified, bucketNotifyMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, SchemaVersion))
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Outcome is what an upsert did with one advisory.
type Outcome string

// Upsert outcomes.
const (
	Inserted  Outcome = "new"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	// Stale: the stored copy has a later modified time and was kept.
	Stale Outcome = "stale"
)

func fixKey(release, pkg, id string) []byte {
	k := make([]byte, 0, len(release)+len(pkg)+len(id)+2)
	k = append(k, release...)
	k = append(k, 0)
	k = append(k, pkg...)
	k = append(k, 0)
	return append(k, id...)
}

// upsert stores one advisory inside tx, keeping the fix index in step.
func upsert(tx *bolt.Tx, a patchwatch.Advisory) (Outcome, error) {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return "", err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("encode advisory %s: %w", a.ID, err)
	}
	advisories, index := tx.Bucket(bucketAdvisories), tx.Bucket(bucketFixIndex)
	outcome := Inserted
	if old := advisories.Get([]byte(a.ID)); old != nil {
		if bytes.Equal(old, data) {
			return Unchanged, nil
		}
		var prev patchwatch.Advisory
		if err := json.Unmarshal(old, &prev); err != nil {
			return "", fmt.Errorf("decode stored advisory %s: %w", a.ID, err)
		}
		if a.Modified.Before(prev.Modified) {
			return Stale, nil
		}
		for _, f := range prev.Fixes {
			if err := index.Delete(fixKey(f.Release, f.Package, a.ID)); err != nil {
				return "", err
			}
		}
		outcome = Updated
	}
	if err := advisories.Put([]byte(a.ID), data); err != nil {
		return "", err
	}
	for _, f := range a.Fixes {
		if err := index.Put(fixKey(f.Release, f.Package, a.ID), nil); err != nil {
			return "", err
		}
	}
	return outcome, nil
}

// UpsertAdvisories stores advisories in one transaction: a new ID is
// inserted, a later modified time replaces the stored copy, an identical
// copy changes nothing, and an older copy is ignored as stale. It returns
// one outcome per advisory, in order.
func (s *Store) UpsertAdvisories(ctx context.Context, advisories []patchwatch.Advisory) ([]Outcome, error) {
	return s.CommitFeed(ctx, "", advisories, nil)
}

// CommitFeed upserts advisories and, in the same transaction, sets the
// feed's cursor, so that a cursor never runs ahead of what is stored. An
// empty feed name leaves every cursor alone.
func (s *Store) CommitFeed(ctx context.Context, feed string, advisories []patchwatch.Advisory, cursor []byte) ([]Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outcomes := make([]Outcome, len(advisories))
	err := s.db.Update(func(tx *bolt.Tx) error {
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

// Advisory returns one advisory; ErrNotFound if it is not stored.
func (s *Store) Advisory(ctx context.Context, id string) (patchwatch.Advisory, error) {
	var a patchwatch.Advisory
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAdvisories).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("advisory %s: %w", id, ErrNotFound)
		}
		return json.Unmarshal(v, &a)
	})
	return a, err
}

// EachAdvisory calls fn for every stored advisory in ID order; an error
// from fn stops the walk and is returned.
func (s *Store) EachAdvisory(ctx context.Context, fn func(patchwatch.Advisory) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAdvisories).ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var a patchwatch.Advisory
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode advisory %s: %w", k, err)
			}
			return fn(a)
		})
	})
}

// CountAdvisories returns how many advisories are stored.
func (s *Store) CountAdvisories(ctx context.Context) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketAdvisories).Stats().KeyN
		return nil
	})
	return n, err
}

// AdvisoriesFor returns the advisories with a fix for any of the packages
// on release, found through the fix index without scanning advisories.
func (s *Store) AdvisoriesFor(ctx context.Context, release string, packages []string) ([]patchwatch.Advisory, error) {
	var out []patchwatch.Advisory
	err := s.db.View(func(tx *bolt.Tx) error {
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
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			v := advisories.Get([]byte(id))
			if v == nil {
				return fmt.Errorf("fix index names missing advisory %s", id)
			}
			var a patchwatch.Advisory
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode advisory %s: %w", id, err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

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
	return s.db.Update(func(tx *bolt.Tx) error { return putHostTx(tx, h.Name, data, index) })
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

// Cursor returns a feed's cursor, or nil when the feed never committed one.
func (s *Store) Cursor(ctx context.Context, feed string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
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
	return s.db.Update(func(tx *bolt.Tx) error {
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
	err := s.db.View(func(tx *bolt.Tx) error {
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
	err := s.db.View(func(tx *bolt.Tx) error {
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
	return s.db.Update(func(tx *bolt.Tx) error {
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
	err := s.db.View(func(tx *bolt.Tx) error {
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
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(release), 0)
		k, _ := tx.Bucket(bucketFixIndex).Cursor().Seek(prefix)
		found = k != nil && bytes.HasPrefix(k, prefix)
		return nil
	})
	return found, err
}

// HostState is what patchwatch tracks about a host between reports.
type HostState struct {
	// RebootRequiredSince is when the host was first seen needing a reboot
	// (a fix installed but not active, or the distribution's flag); zero
	// when it does not.
	RebootRequiredSince time.Time `json:"reboot_required_since,omitzero"`
}

// SyncFindings reconciles a host's current findings with its stored
// finding records in one transaction, updates the host's reboot state, and
// returns the events of the change.
func (s *Store) SyncFindings(ctx context.Context, h patchwatch.Host, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	var events []patchwatch.Event
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		events, err = syncFindingsTx(tx, h, findings, rebootRequired, now)
		return err
	})
	return events, err
}

func syncFindingsTx(tx *bolt.Tx, h patchwatch.Host, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	prev, err := hostRecords(tx, h.Name)
	if err != nil {
		return nil, err
	}
	next, events := patchwatch.Reconcile(h.Name, h.Owner, prev, findings, now)
	if err := putRecords(tx, h.Name, next); err != nil {
		return nil, err
	}
	// The notifier's input is queued in the same transaction as the change.
	if err := queueEvents(tx, h.Owner, h.Project, events); err != nil {
		return nil, err
	}
	states := tx.Bucket(bucketHostState)
	var st HostState
	if v := states.Get([]byte(h.Name)); v != nil {
		if err := json.Unmarshal(v, &st); err != nil {
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
	return events, states.Put([]byte(h.Name), data)
}

func hostRecords(tx *bolt.Tx, host string) ([]patchwatch.FindingRecord, error) {
	var out []patchwatch.FindingRecord
	prefix := append([]byte(host), 0)
	c := tx.Bucket(bucketFindings).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var r patchwatch.FindingRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decode finding %s: %w", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func putRecords(tx *bolt.Tx, host string, records []patchwatch.FindingRecord) error {
	b := tx.Bucket(bucketFindings)
	for _, r := range records {
		data, err := json.Marshal(r)
		if err != nil {
			return err
		}
		k := append(append([]byte(host), 0), r.Advisory...)
		if bytes.Equal(b.Get(k), data) {
			continue
		}
		if err := b.Put(k, data); err != nil {
			return err
		}
	}
	return nil
}

// FindingRecords returns the stored finding records of one host, or of
// every host when host is empty.
func (s *Store) FindingRecords(ctx context.Context, host string) ([]patchwatch.FindingRecord, error) {
	var out []patchwatch.FindingRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFindings)
		if b == nil {
			return nil
		}
		if host != "" {
			var err error
			out, err = hostRecords(tx, host)
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var r patchwatch.FindingRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode finding %s: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// HostStates returns every host's state by name.
func (s *Store) HostStates(ctx context.Context) (map[string]HostState, error) {
	out := map[string]HostState{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHostState)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var st HostState
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
// "host-removed"; ErrNotFound if it is not stored.
func (s *Store) RemoveHost(ctx context.Context, name string, now time.Time) ([]patchwatch.Event, error) {
	var events []patchwatch.Event
	err := s.db.Update(func(tx *bolt.Tx) error {
		hosts := tx.Bucket(bucketHosts)
		if hosts.Get([]byte(name)) == nil {
			return fmt.Errorf("host %s: %w", name, ErrNotFound)
		}
		prev, err := hostRecords(tx, name)
		if err != nil {
			return err
		}
		next, evs := patchwatch.ResolveHost(prev, now)
		if err := putRecords(tx, name, next); err != nil {
			return err
		}
		events = evs
		if err := unindexHost(tx, name); err != nil {
			return err
		}
		if err := tx.Bucket(bucketHostState).Delete([]byte(name)); err != nil {
			return err
		}
		return hosts.Delete([]byte(name))
	})
	return events, err
}

// PutSilence stores a silence under its ID.
func (s *Store) PutSilence(ctx context.Context, sl patchwatch.Silence) error {
	data, err := json.Marshal(sl)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSilences).Put([]byte(sl.ID), data)
	})
}

// Silences returns every stored silence, expired ones included, by ID.
func (s *Store) Silences(ctx context.Context) ([]patchwatch.Silence, error) {
	var out []patchwatch.Silence
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSilences)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var sl patchwatch.Silence
			if err := json.Unmarshal(v, &sl); err != nil {
				return fmt.Errorf("decode silence %s: %w", k, err)
			}
			out = append(out, sl)
			return nil
		})
	})
	return out, err
}

// DeleteSilence removes a silence; ErrNotFound if there is none with id.
func (s *Store) DeleteSilence(ctx context.Context, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSilences)
		if b.Get([]byte(id)) == nil {
			return fmt.Errorf("silence %s: %w", id, ErrNotFound)
		}
		return b.Delete([]byte(id))
	})
}

// PutToken stores a token under the hash of its secret.
func (s *Store) PutToken(ctx context.Context, hash []byte, t patchwatch.Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTokens).Put(hash, data); err != nil {
			return err
		}
		return tx.Bucket(bucketTokenIDs).Put([]byte(t.ID), hash)
	})
}

// TokenByHash returns the token whose secret hashes to hash; ErrNotFound
// if there is none.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (patchwatch.Token, error) {
	var t patchwatch.Token
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get(hash)
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &t)
	})
	return t, err
}

// TokenByID returns a token and the hash of its secret; ErrNotFound if
// there is none with id.
func (s *Store) TokenByID(ctx context.Context, id string) (patchwatch.Token, []byte, error) {
	var t patchwatch.Token
	var hash []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketTokenIDs)
		if ids == nil {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		h := ids.Get([]byte(id))
		if h == nil {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		hash = bytes.Clone(h)
		return json.Unmarshal(tx.Bucket(bucketTokens).Get(h), &t)
	})
	return t, hash, err
}

// Tokens returns every token (never a secret).
func (s *Store) Tokens(ctx context.Context) ([]patchwatch.Token, error) {
	var out []patchwatch.Token
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var t patchwatch.Token
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b patchwatch.Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// RevokeToken marks a token revoked; ErrNotFound if there is none with id.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		hash := tx.Bucket(bucketTokenIDs).Get([]byte(id))
		if hash == nil {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		b := tx.Bucket(bucketTokens)
		var t patchwatch.Token
		if err := json.Unmarshal(b.Get(hash), &t); err != nil {
			return err
		}
		t.Revoked = true
		data, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return b.Put(bytes.Clone(hash), data)
	})
}

// RevokeHostTokens revokes every host token of a host, so that a host
// that enrolls again holds one live token.
func (s *Store) RevokeHostTokens(ctx context.Context, host string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		type update struct{ k, v []byte }
		var updates []update
		err := b.ForEach(func(k, v []byte) error {
			var t patchwatch.Token
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			if t.Kind == patchwatch.TokenHost && t.Host == host && !t.Revoked {
				t.Revoked = true
				data, err := json.Marshal(t)
				if err != nil {
					return err
				}
				updates = append(updates, update{bytes.Clone(k), data})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range updates {
			if err := b.Put(u.k, u.v); err != nil {
				return err
			}
		}
		return nil
	})
}

// ApplyReport stores a host's report and the change in its findings in one
// durable transaction, batched with concurrent callers (bbolt's Batch), so
// that a report is acknowledged only once it is on disk.
func (s *Store) ApplyReport(ctx context.Context, h patchwatch.Host, index []ReleasePackage, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode host %s: %w", h.Name, err)
	}
	var events []patchwatch.Event
	err = s.db.Batch(func(tx *bolt.Tx) error {
		events = nil
		var prev struct {
			Checks []patchwatch.CheckResult `json:"checks"`
		}
		if old := tx.Bucket(bucketHosts).Get([]byte(h.Name)); old != nil {
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("decode host %s: %w", h.Name, err)
			}
		}
		if err := putHostTx(tx, h.Name, data, index); err != nil {
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
	return events, err
}

func queueEvents(tx *bolt.Tx, owner, project string, events []patchwatch.Event) error {
	b := tx.Bucket(bucketEvents)
	for _, e := range events {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		data, err := json.Marshal(patchwatch.NotifyEvent{Seq: seq, Owner: owner, Project: project, Event: e})
		if err != nil {
			return err
		}
		if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), data); err != nil {
			return err
		}
	}
	return nil
}

// PendingEvents returns the finding events the notifier has not consumed,
// oldest first.
func (s *Store) PendingEvents(ctx context.Context) ([]patchwatch.NotifyEvent, error) {
	var out []patchwatch.NotifyEvent
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var e patchwatch.NotifyEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event %x: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// NotifyBatch is one step of the notifier, committed atomically: events
// consumed, deliveries queued, findings marked notified, metadata set.
type NotifyBatch struct {
	Consumed   []uint64
	Deliveries []patchwatch.Delivery
	Notified   map[[2]string]time.Time // (host, advisory) -> when
	Meta       map[string][]byte
}

// CommitNotify applies a notifier step in one transaction.
func (s *Store) CommitNotify(ctx context.Context, b NotifyBatch) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		for _, seq := range b.Consumed {
			if err := events.Delete(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		for _, d := range b.Deliveries {
			if err := putDelivery(tx, d); err != nil {
				return err
			}
		}
		notified := tx.Bucket(bucketNotified)
		for k, t := range b.Notified {
			v, _ := t.MarshalBinary()
			if err := notified.Put(append(append([]byte(k[0]), 0), k[1]...), v); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketNotifyMeta)
		for k, v := range b.Meta {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

func putDelivery(tx *bolt.Tx, d patchwatch.Delivery) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketOutbox).Put([]byte(d.ID), data)
}

// Notified returns when each (host, advisory) was last notified.
func (s *Store) Notified(ctx context.Context) (map[[2]string]time.Time, error) {
	out := map[[2]string]time.Time{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotified)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			host, adv, _ := bytes.Cut(k, []byte{0})
			var t time.Time
			if err := t.UnmarshalBinary(v); err != nil {
				return err
			}
			out[[2]string{string(host), string(adv)}] = t
			return nil
		})
	})
	return out, err
}

// NotifyMeta returns a notifier metadata value, nil when unset.
func (s *Store) NotifyMeta(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketNotifyMeta); b != nil {
			out = bytes.Clone(b.Get([]byte(key)))
		}
		return nil
	})
	return out, err
}

// Deliveries returns the outbox, oldest first.
func (s *Store) Deliveries(ctx context.Context) ([]patchwatch.Delivery, error) {
	var out []patchwatch.Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var d patchwatch.Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode delivery %s: %w", k, err)
			}
			out = append(out, d)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b patchwatch.Delivery) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// PutDelivery stores or updates one delivery.
func (s *Store) PutDelivery(ctx context.Context, d patchwatch.Delivery) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putDelivery(tx, d) })
}

// DeleteDelivery removes a sent delivery.
func (s *Store) DeleteDelivery(ctx context.Context, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketOutbox).Delete([]byte(id)) })
}
