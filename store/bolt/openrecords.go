package bolt

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
)

// The open finding records of a host are one value (schema 12):
//
//	open_records  host -> for each open record, in advisory order:
//	              uvarint len(advisory), advisory,
//	              uvarint len(encoding), encoding (appendFindingRecord)
//
// Resolved records keep a key each in findings (host NUL advisory): they
// are the history time-to-patch reads, which grows with every fix, and a
// host's value is rewritten whenever one of its records changes. A record
// is in exactly one of the two. Before, every record had its own key, and
// a first evaluation put a million of them, each a search of the bucket
// from its root; now it puts one value per host.

// decodeOpenRecords appends the records of a host's open_records value to
// into, their strings interned in intern when set.
func decodeOpenRecords(v []byte, host string, into []patchwatch.FindingRecord, intern *interner) ([]patchwatch.FindingRecord, error) {
	for len(v) > 0 {
		advisory, encoding, rest, err := nextDetail(v)
		if err != nil {
			return into, fmt.Errorf("open records of host %s: %w", host, err)
		}
		// Decoded in place: a record taken by address escapes.
		into = append(into, patchwatch.FindingRecord{})
		r := &into[len(into)-1]
		if err := decodeFindingRecordOf(encoding, r, intern, host); err != nil {
			return into, fmt.Errorf("decode finding %s/%s: %w", host, advisory, err)
		}
		if r.Advisory != string(advisory) || !r.Open() {
			return into, fmt.Errorf("open records of host %s: entry %s holds %s, resolved %v", host, advisory, r.Advisory, !r.Open())
		}
		v = rest
	}
	return into, nil
}

// hostRecordsInto returns every record of host (open and resolved) in
// advisory order, appended to into[:0], its strings interned in intern
// when set. A database of schema 11 or before, opened read-only, has no
// open_records: every record is under its own key.
func hostRecordsInto(tx *bbolt.Tx, host string, into []patchwatch.FindingRecord, intern *interner) ([]patchwatch.FindingRecord, error) {
	out := into[:0]
	if b := tx.Bucket(bucketOpenRecords); b != nil {
		var err error
		if out, err = decodeOpenRecords(b.Get([]byte(host)), host, out, intern); err != nil {
			return nil, err
		}
	}
	open := len(out)
	prefix := pairKey(host, "")
	c := tx.Bucket(bucketFindings).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var err error
		if out, err = appendResolved(out, k, v, intern, host); err != nil {
			return nil, err
		}
	}
	sortMerged(out, open)
	return out, nil
}

// appendResolved appends the record stored under findings key k.
func appendResolved(into []patchwatch.FindingRecord, k, v []byte, intern *interner, host string) ([]patchwatch.FindingRecord, error) {
	into = append(into, patchwatch.FindingRecord{})
	if err := decodeFindingRecordOf(v, &into[len(into)-1], intern, host); err != nil {
		return into, fmt.Errorf("decode finding %s: %w", k, err)
	}
	return into, nil
}

// sortMerged puts a host's records in advisory order when both its open
// ones (the first open, each run sorted) and resolved ones are there.
func sortMerged(records []patchwatch.FindingRecord, open int) {
	if open > 0 && len(records) > open {
		slices.SortFunc(records, func(a, b patchwatch.FindingRecord) int { return strings.Compare(a.Advisory, b.Advisory) })
	}
}

func hostRecords(tx *bbolt.Tx, host string) ([]patchwatch.FindingRecord, error) {
	return hostRecordsInto(tx, host, nil, nil)
}

// putRecords writes a host's records (sorted by advisory) where they
// differ from what is stored, prev (every stored record of host, as
// decoded, sorted alike): the open ones as the host's value, the resolved
// ones under their keys. A resolved record equal to its stored one is
// neither encoded nor looked up; the others are compared as stored bytes
// too, as == tells apart equal times in zones decoded anew (a clock
// outside UTC), whose Put would only dirty a page. The value is compared
// whole before it is put, for the same reason.
func putRecords(tx *bbolt.Tx, host string, prev, records []patchwatch.FindingRecord, buf *valueBuffers) error {
	resolved := tx.Bucket(bucketFindings)
	value := buf.value[:0]
	j := 0
	for i := range records {
		r := &records[i]
		for j < len(prev) && prev[j].Advisory < r.Advisory {
			j++
		}
		var stored *patchwatch.FindingRecord
		if j < len(prev) && prev[j].Advisory == r.Advisory {
			stored = &prev[j]
		}
		if r.Open() {
			buf.entry = appendFindingRecord(buf.entry[:0], r)
			value = appendDetail(value, r.Advisory, buf.entry)
			if stored != nil && !stored.Open() { // reopened: its key goes
				if err := resolved.Delete(pairKey(host, r.Advisory)); err != nil {
					return err
				}
			}
			continue
		}
		if stored != nil && *stored == *r {
			continue
		}
		data := encodeFindingRecord(r)
		k := pairKey(host, r.Advisory)
		// A record that was open, or new, has no key to compare with.
		if stored != nil && !stored.Open() && bytes.Equal(resolved.Get(k), data) {
			continue
		}
		if err := resolved.Put(k, data); err != nil {
			return err
		}
	}
	buf.value = value
	return putHostValue(tx.Bucket(bucketOpenRecords), host, value)
}

// takeOpenRecord takes advisory's record out of host's open_records value
// and returns it; nil when it has none open.
func takeOpenRecord(tx *bbolt.Tx, host, advisory string) (*patchwatch.FindingRecord, error) {
	b := tx.Bucket(bucketOpenRecords)
	encoding, rest, err := withoutEntry(b.Get([]byte(host)), advisory)
	if err != nil {
		return nil, fmt.Errorf("open records of host %s: %w", host, err)
	}
	if encoding == nil {
		return nil, nil
	}
	var r patchwatch.FindingRecord
	if err := decodeFindingRecordOf(encoding, &r, nil, host); err != nil {
		return nil, fmt.Errorf("decode finding %s/%s: %w", host, advisory, err)
	}
	return &r, putHostValue(b, host, rest)
}

// eachFindingRecord calls fn with every stored record, open or resolved,
// in (host, advisory) order: the open_records values and the findings
// keys are walked side by side, a host at a time.
func eachFindingRecord(tx *bbolt.Tx, intern *interner, fn func(*patchwatch.FindingRecord) error) error {
	findings := tx.Bucket(bucketFindings)
	if findings == nil {
		return nil
	}
	var ok, ov []byte
	var oc *bbolt.Cursor
	if b := tx.Bucket(bucketOpenRecords); b != nil {
		oc = b.Cursor()
		ok, ov = oc.First()
	}
	rc := findings.Cursor()
	rk, rv := rc.First()
	var records []patchwatch.FindingRecord
	hostOf := func(k []byte) []byte {
		host, _, _ := bytes.Cut(k, []byte{0})
		return host
	}
	for ok != nil || rk != nil {
		host := ok
		if ok == nil || rk != nil && bytes.Compare(hostOf(rk), ok) < 0 {
			host = hostOf(rk)
		}
		name := string(host)
		records = records[:0]
		if ok != nil && bytes.Equal(ok, host) {
			var err error
			if records, err = decodeOpenRecords(ov, name, records, intern); err != nil {
				return err
			}
			ok, ov = oc.Next()
		}
		open := len(records)
		for rk != nil && bytes.Equal(hostOf(rk), host) {
			var err error
			if records, err = appendResolved(records, rk, rv, intern, name); err != nil {
				return err
			}
			rk, rv = rc.Next()
		}
		sortMerged(records, open)
		for i := range records {
			if err := fn(&records[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// migrateOpenRecords (schema 11 and before, to 12) moves every open
// record from its findings key into its host's open_records value, a host
// at a time (a bucket is not written while a cursor walks it).
func migrateOpenRecords(tx *bbolt.Tx) error {
	findings := tx.Bucket(bucketFindings)
	open := tx.Bucket(bucketOpenRecords)
	k, _ := findings.Cursor().First()
	for k != nil {
		name, _, _ := bytes.Cut(k, []byte{0})
		host := string(name)
		prefix := pairKey(host, "")
		var value []byte
		var moved [][]byte
		c := findings.Cursor()
		var v []byte
		for k, v = c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r patchwatch.FindingRecord
			if err := decodeFindingRecordOf(v, &r, nil, host); err != nil {
				return fmt.Errorf("decode finding %s: %w", k, err)
			}
			if !r.Open() {
				continue
			}
			// Re-encoded: a record of schema 6 may still be JSON.
			value = appendDetail(value, r.Advisory, encodeFindingRecord(&r))
			moved = append(moved, bytes.Clone(k))
		}
		next := bytes.Clone(k) // the next host's first key, kept by the deletes
		for _, key := range moved {
			if err := findings.Delete(key); err != nil {
				return err
			}
		}
		if len(value) > 0 {
			if err := open.Put([]byte(host), value); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		k, _ = findings.Cursor().Seek(next)
	}
	return nil
}
