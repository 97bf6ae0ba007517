package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// The read models (schema version 6) are kept in the transaction that
// changes a host's findings, so a query never re-matches:
//
//	host_records    host -> HostRecord (summary and open-finding briefs)
//	open_records    host -> its open finding records (openrecords.go;
//	                schema 12, findings keys before, which keep the
//	                resolved ones)
//	host_details    host -> its open findings (hostdetails.go; schema 11,
//	                finding_details before: host NUL advisory -> Finding)
//	owner_hosts     lower(owner) NUL host -> empty
//	advisory_host_sets  the hosts of each advisory's open findings
//	                    (advisoryindex.go)

func pairKey(a, b string) []byte {
	return appendPairKey(make([]byte, 0, len(a)+len(b)+1), a, b)
}

// appendPairKey appends pairKey(a, b) to dst.
func appendPairKey(dst []byte, a, b string) []byte {
	return append(append(append(dst, a...), 0), b...)
}

func ownerKey(owner, host string) []byte { return pairKey(strings.ToLower(owner), host) }

// putReadModelTx rewrites a host's record and finding details from its
// evaluated findings, with the owner and advisory indexes in step. records
// are the host's finding records after reconciliation (for first-seen
// times); prev is its record before, nil when it had none.
func putReadModelTx(tx *bbolt.Tx, h *patchwatch.Host, findings []patchwatch.Finding, records []patchwatch.FindingRecord, rebootSince time.Time) error {
	prev, err := hostRecordTx(tx, h.Name)
	if err != nil {
		return err
	}
	return putReadModelPrevTx(tx, h, prev, findings, nil, records, rebootSince, &valueBuffers{})
}

// putReadModelPrevTx is putReadModelTx given the host's stored record
// (nil when it has none). The record's briefs say which index keys exist:
// only a finding new to it, or a new owner, is indexed (a Seek into the
// advisory index for each of a fleet's million findings was a large part
// of a full re-evaluation's write).
func putReadModelPrevTx(tx *bbolt.Tx, h *patchwatch.Host, prev *patchwatch.HostRecord, findings []patchwatch.Finding, encoded [][]byte, records []patchwatch.FindingRecord, rebootSince time.Time, buf *valueBuffers) error {
	recs := tx.Bucket(bucketHostRecords)
	rec := patchwatch.NewHostRecord(h, findings, records, rebootSince)
	details := tx.Bucket(bucketHostDetails)
	deferred := advisoryIndexDeferred(tx)
	if err := putDetails(details, h.Name, findings, encoded, buf); err != nil {
		return err
	}
	var byAdvisory hostAdvisories
	indexed := false
	open := make(map[string]bool, len(findings))
	for i := range findings {
		f := &findings[i]
		open[f.Advisory] = true
		if deferred || prev != nil && prev.HasFinding(f.Advisory) {
			continue
		}
		if !indexed {
			var err error
			if byAdvisory, indexed, err = hostAdvisoriesTx(tx, h.Name, true); err != nil {
				return err
			}
		}
		if err := byAdvisory.set(f.Advisory, true); err != nil {
			return err
		}
	}
	if prev != nil {
		for _, b := range prev.Findings {
			if open[b.Advisory] {
				continue
			}
			if deferred {
				continue
			}
			if err := setAdvisoryHostTx(tx, h.Name, b.Advisory, false); err != nil {
				return err
			}
		}
		if !strings.EqualFold(prev.Owner, h.Owner) {
			if err := tx.Bucket(bucketOwnerIndex).Delete(ownerKey(prev.Owner, h.Name)); err != nil {
				return err
			}
		}
	}
	if prev == nil || !strings.EqualFold(prev.Owner, h.Owner) {
		if err := putMissing(tx.Bucket(bucketOwnerIndex), ownerKey(h.Owner, h.Name)); err != nil {
			return err
		}
	}
	if err := indexUrgenciesTx(tx, h.Name, prev, &rec); err != nil {
		return err
	}
	data := encodeHostRecord(&rec)
	if bytes.Equal(recs.Get([]byte(h.Name)), data) {
		return nil
	}
	return recs.Put([]byte(h.Name), data)
}

// putDetails writes the details of a host's findings as its one value
// (hostdetails.go), unless that is stored already. Each finding is encoded
// into one reused buffer (or comes encoded), the value built in another
// and copied only when it changed.
func putDetails(details *bbolt.Bucket, host string, findings []patchwatch.Finding, encoded [][]byte, buf *valueBuffers) error {
	order := make([]int, len(findings))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(findings[a].Advisory, findings[b].Advisory) })
	value := buf.value[:0]
	for _, i := range order {
		f := &findings[i]
		var data []byte
		if encoded != nil {
			data = encoded[i]
		} else {
			var err error
			if buf.entry, err = appendFinding(buf.entry[:0], f); err != nil {
				return fmt.Errorf("encode finding %s on %s: %w", f.Advisory, host, err)
			}
			data = buf.entry
		}
		value = appendDetail(value, f.Advisory, data)
	}
	buf.value = value
	return putHostValue(details, host, value)
}

// valueBuffers are the buffers of a host value's writer (putDetails,
// putRecords), reused from one host to the next: one entry's encoding and
// the value.
type valueBuffers struct {
	entry, value []byte
}

// putMissing adds an index key with an empty value unless it is there: a
// Put of what is stored still dirties its page, and a re-evaluation that
// changes nothing (a KEV update, most hosts of a full pass) should write
// nothing.
func putMissing(b *bbolt.Bucket, key []byte) error {
	if k, _ := b.Cursor().Seek(key); bytes.Equal(k, key) {
		return nil
	}
	return b.Put(key, nil)
}

// removeReadModelTx deletes a host's record, details and index entries.
func removeReadModelTx(tx *bbolt.Tx, host string) error {
	prev, err := hostRecordTx(tx, host)
	if err != nil || prev == nil {
		return err
	}
	if err := tx.Bucket(bucketHostDetails).Delete([]byte(host)); err != nil {
		return err
	}
	for _, b := range prev.Findings {
		if err := setAdvisoryHostTx(tx, host, b.Advisory, false); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketOwnerIndex).Delete(ownerKey(prev.Owner, host)); err != nil {
		return err
	}
	if err := indexUrgenciesTx(tx, host, prev, nil); err != nil {
		return err
	}
	return tx.Bucket(bucketHostRecords).Delete([]byte(host))
}

func hostRecordTx(tx *bbolt.Tx, host string) (*patchwatch.HostRecord, error) {
	b := tx.Bucket(bucketHostRecords)
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(host))
	if v == nil {
		return nil, nil
	}
	var rec patchwatch.HostRecord
	if err := decodeHostRecord(v, &rec); err != nil {
		return nil, fmt.Errorf("decode record of host %s: %w", host, err)
	}
	return &rec, nil
}

// hostSkeletonTx is hostRecordTx as a skeleton (decodeHostSkeleton), its
// strings interned in intern when set: the record a write replaces.
func hostSkeletonTx(tx *bbolt.Tx, host string, intern *interner) (*patchwatch.HostRecord, error) {
	v := tx.Bucket(bucketHostRecords).Get([]byte(host))
	if v == nil {
		return nil, nil
	}
	var rec patchwatch.HostRecord
	if err := decodeHostSkeleton(v, &rec, intern); err != nil {
		return nil, fmt.Errorf("decode record of host %s: %w", host, err)
	}
	return &rec, nil
}

// HostRecord returns one host's read model; store.ErrNotFound if it is not stored.
func (s *Store) HostRecord(ctx context.Context, name string) (patchwatch.HostRecord, error) {
	var out patchwatch.HostRecord
	err := s.db.View(func(tx *bbolt.Tx) error {
		rec, err := hostRecordTx(tx, name)
		if err != nil {
			return err
		}
		if rec == nil {
			return fmt.Errorf("host %s: %w", name, store.ErrNotFound)
		}
		out = *rec
		return nil
	})
	return out, err
}

// EachHostRecord calls fn for the records of every host in name order,
// or, when owner is not empty, of that owner's hosts (case-insensitive),
// found through the owner index. after, when not empty, starts the walk
// past that host name (a cursor). An error from fn stops the walk and is
// returned; store.ErrStop stops it quietly.
func (s *Store) EachHostRecord(ctx context.Context, owner, after string, fn func(*patchwatch.HostRecord) error) error {
	err := s.db.View(func(tx *bbolt.Tx) error {
		recs := tx.Bucket(bucketHostRecords)
		if recs == nil {
			return nil // schema 5 opened read-only
		}
		intern := newInterner()
		visit := func(name, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var rec patchwatch.HostRecord
			if err := decodeHostRecordInterned(v, &rec, intern); err != nil {
				return fmt.Errorf("decode record of host %s: %w", name, err)
			}
			return fn(&rec)
		}
		if owner == "" {
			c := recs.Cursor()
			for k, v := firstAfter(c, after); k != nil; k, v = c.Next() {
				if err := visit(k, v); err != nil {
					return err
				}
			}
			return nil
		}
		prefix := ownerKey(owner, "")
		c := tx.Bucket(bucketOwnerIndex).Cursor()
		k, _ := c.Seek(append(bytes.Clone(prefix), after...))
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			name := k[len(prefix):]
			if after != "" && string(name) <= after {
				continue
			}
			if v := recs.Get(name); v != nil {
				if err := visit(name, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}

// EachHostRecordOf calls fn for the records of the named hosts (in name
// order, as given), skipping those not stored, all in one read: an
// advisory's few thousand hosts cost a lookup each, where a walk of the
// records decoded the whole fleet's. An error from fn stops it and is
// returned; store.ErrStop stops it quietly.
func (s *Store) EachHostRecordOf(ctx context.Context, names []string, fn func(*patchwatch.HostRecord) error) error {
	err := s.db.View(func(tx *bbolt.Tx) error {
		recs := tx.Bucket(bucketHostRecords)
		if recs == nil {
			return nil // schema 5 opened read-only
		}
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				return err
			}
			v := recs.Get([]byte(name))
			if v == nil {
				continue
			}
			var rec patchwatch.HostRecord
			if err := decodeHostRecord(v, &rec); err != nil {
				return fmt.Errorf("decode record of host %s: %w", name, err)
			}
			if err := fn(&rec); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrStop) {
		return nil
	}
	return err
}

// HostsWithAdvisories returns, in name order, the hosts on which any of
// the advisories ids has an open finding, through the advisory index
// (advisoryindex.go).
func (s *Store) HostsWithAdvisories(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketHostDetails) == nil && tx.Bucket(bucketFindingDetails) == nil {
			return nil // schema 5 opened read-only
		}
		out = advisoryHostsTx(tx, ids...)
		return nil
	})
	return out, err
}

// FindingDetails returns the stored details of the named open findings,
// in the order asked, in one read transaction; a finding resolved since
// is left out.
func (s *Store) FindingDetails(ctx context.Context, keys []store.HostAdvisory) ([]patchwatch.Finding, error) {
	out := make([]patchwatch.Finding, 0, len(keys))
	err := s.db.View(func(tx *bbolt.Tx) error {
		// One host's value at a time: a listing asks for a million
		// findings, in host order.
		var host string
		var seek *detailSeeker
		for _, k := range keys {
			if seek == nil || k.Host != host {
				host = k.Host
				seek = &detailSeeker{value: hostDetails(tx, host)}
				seek.at = seek.value
			}
			v, err := seek.find(k.Advisory)
			if err != nil {
				return fmt.Errorf("details of host %s: %w", host, err)
			}
			if v == nil {
				continue
			}
			var f patchwatch.Finding
			if err := decodeFinding(v, &f); err != nil {
				return fmt.Errorf("decode finding %s on %s: %w", k.Advisory, k.Host, err)
			}
			out = append(out, f)
		}
		return ctx.Err()
	})
	return out, err
}

// HostFindings returns the stored details of one host's open findings in
// advisory order.
func (s *Store) HostFindings(ctx context.Context, host string) ([]patchwatch.Finding, error) {
	var out []patchwatch.Finding
	err := s.db.View(func(tx *bbolt.Tx) error {
		return eachHostDetail(tx, host, func(advisory, encoding []byte) error {
			var f patchwatch.Finding
			if err := decodeFinding(encoding, &f); err != nil {
				return fmt.Errorf("decode finding %s on %s: %w", advisory, host, err)
			}
			out = append(out, f)
			return nil
		})
	})
	return out, err
}

// keyEvaluation holds the meta flag set while the stored findings need a
// full re-evaluation (after the migration that introduced them).
var keyEvaluation = []byte("evaluation_pending")

// EvaluationPending reports whether the stored findings await a full
// re-evaluation, and why.
func (s *Store) EvaluationPending(ctx context.Context) (string, error) {
	var why string
	err := s.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketHostRecords) == nil {
			why = "the database predates stored findings (schema 6)"
			return nil
		}
		why = string(tx.Bucket(bucketMeta).Get(keyEvaluation))
		return nil
	})
	return why, err
}

// SetEvaluationPending records (why not empty) or clears the need for a
// full re-evaluation.
func (s *Store) SetEvaluationPending(ctx context.Context, why string) error {
	return s.update(func(tx *bbolt.Tx) error {
		if why == "" {
			// The findings are complete: an index deferred for them is
			// built now.
			if err := buildDeferredAdvisoryIndex(tx); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Delete(keyEvaluation)
		}
		return tx.Bucket(bucketMeta).Put(keyEvaluation, []byte(why))
	})
}

// SyncBatch stores the re-evaluated findings of several hosts in one
// transaction, like SyncFindings for each. A host whose stored report is
// newer than the one evaluated (it reported meanwhile and was evaluated
// then) or that is gone is skipped. The events of the changes are queued
// for the notifier (a first evaluation's million are not also returned).
func (s *Store) SyncBatch(ctx context.Context, batch []store.Evaluation, now time.Time) error {
	seen := s.newTxIDs()
	err := s.update(func(tx *bbolt.Tx) error {
		// The strings the records share (advisory IDs, owners, states)
		// are decoded once for the batch.
		help := batchHelp{intern: s.internTable()}
		defer s.releaseInternTable(help.intern)
		for i := range batch {
			ev := &batch[i]
			rec, err := hostSkeletonTx(tx, ev.Host.Name, help.intern)
			if err != nil {
				return err
			}
			if rec != nil && !rec.ReportedAt.Equal(ev.Host.ReportedAt) || tx.Bucket(bucketHosts).Get([]byte(ev.Host.Name)) == nil {
				continue
			}
			if ev.Index != nil {
				if err := indexHostTx(tx, ev.Host.Name, ev.Index, seen, nil); err != nil {
					return err
				}
			}
			help.encoded = preparedDetails(ev)
			if _, err := syncFindingsPrevTx(tx, ev.Host, rec, ev.Findings, ev.RebootRequired, now, &help); err != nil {
				return err
			}
		}
		if err := seen.flush(tx); err != nil {
			return err
		}
		return ctx.Err()
	})
	if err == nil {
		seen.committed()
	}
	s.releasePrepared(batch)
	return err
}

// migrateReadModels (schema 5 to 6) builds host records from the stored
// hosts, with no findings yet, drops the old package index, and flags the
// findings for a full re-evaluation, which the service runs and which
// indexes every host again: the store holds no matching logic.
func migrateReadModels(tx *bbolt.Tx) error {
	if tx.Bucket(bucketOldHostIndex) != nil {
		if err := tx.DeleteBucket(bucketOldHostIndex); err != nil {
			return err
		}
	}
	states := tx.Bucket(bucketHostState)
	err := tx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
		h, err := decodeHost(tx, k, v, nil)
		if err != nil {
			return err
		}
		var st store.HostState
		if sv := states.Get(k); sv != nil {
			if err := json.Unmarshal(sv, &st); err != nil {
				return fmt.Errorf("decode state of host %s: %w", k, err)
			}
		}
		return putReadModelTx(tx, &h, nil, nil, st.RebootRequiredSince)
	})
	if err != nil {
		return err
	}
	if tx.Bucket(bucketHosts).Stats().KeyN == 0 {
		return nil
	}
	return tx.Bucket(bucketMeta).Put(keyEvaluation, []byte(store.PendingReindex))
}

// Releases returns, in order, the releases on which any stored advisory
// fixes a package: one seek per release through the fix index.
func (s *Store) Releases(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketFixIndex).Cursor()
		for k, _ := c.First(); k != nil; {
			release, _, _ := bytes.Cut(k, []byte{0})
			out = append(out, string(release))
			k, _ = c.Seek(append(bytes.Clone(release), 1))
		}
		return nil
	})
	return out, err
}

var keyEvaluatedReleases = []byte("evaluated_releases")

// EvaluatedReleases returns the releases that had advisories when the
// stored findings were last brought up to date (nil when never recorded).
func (s *Store) EvaluatedReleases(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyEvaluatedReleases); v != nil {
			return json.Unmarshal(v, &out)
		}
		return nil
	})
	return out, err
}

// SetEvaluatedReleases records the releases that had advisories when the
// stored findings were brought up to date.
func (s *Store) SetEvaluatedReleases(ctx context.Context, releases []string) error {
	data, err := json.Marshal(append([]string{}, releases...))
	if err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyEvaluatedReleases, data) })
}

var keyEvaluatedRules = []byte("evaluated_rules")

// EvaluatedRules returns the fingerprint of the urgency rules the stored
// findings were evaluated with ("" when never recorded).
func (s *Store) EvaluatedRules(ctx context.Context) (string, error) {
	var out string
	err := s.db.View(func(tx *bbolt.Tx) error {
		out = string(tx.Bucket(bucketMeta).Get(keyEvaluatedRules))
		return nil
	})
	return out, err
}

// SetEvaluatedRules records the fingerprint of the urgency rules in force.
func (s *Store) SetEvaluatedRules(ctx context.Context, fingerprint string) error {
	return s.update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyEvaluatedRules, []byte(fingerprint)) })
}
