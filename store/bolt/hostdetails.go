package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"
)

// The details of a host's open findings are one value (schema 11):
//
//	host_details  host -> for each open finding, in advisory order:
//	              uvarint len(advisory), advisory,
//	              uvarint len(encoding), encoding (appendFinding)
//
// A key per finding (schema 6 to 10's finding_details, host NUL advisory)
// cost a first evaluation a million Puts, each a search of the bucket from
// its root; one per host makes them a hundred thousand. A reader of one
// finding skips the others' encodings without decoding them.

var errMalformedDetails = errors.New("malformed finding details")

// appendDetail appends one finding's entry to a host's value.
func appendDetail(dst []byte, advisory string, encoding []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(advisory)))
	dst = append(dst, advisory...)
	dst = binary.AppendUvarint(dst, uint64(len(encoding)))
	return append(dst, encoding...)
}

// nextDetail splits a host's value into its first entry and the rest.
func nextDetail(v []byte) (advisory, encoding, rest []byte, err error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) {
		return nil, nil, nil, errMalformedDetails
	}
	advisory, v = v[w:w+int(n)], v[w+int(n):]
	n, w = binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) {
		return nil, nil, nil, errMalformedDetails
	}
	return advisory, v[w : w+int(n)], v[w+int(n):], nil
}

// eachDetail calls fn with each entry of a host's value, in order.
func eachDetail(v []byte, fn func(advisory, encoding []byte) error) error {
	for len(v) > 0 {
		advisory, encoding, rest, err := nextDetail(v)
		if err != nil {
			return err
		}
		if err := fn(advisory, encoding); err != nil {
			return err
		}
		v = rest
	}
	return nil
}

// hostDetails returns host's value (nil when it has no open finding),
// read from either layout: a database of schema 10 or before, opened
// read-only, keeps finding_details, whose keys it gathers into one value.
func hostDetails(tx *bbolt.Tx, host string) []byte {
	if b := tx.Bucket(bucketHostDetails); b != nil {
		return b.Get([]byte(host))
	}
	b := tx.Bucket(bucketFindingDetails)
	if b == nil {
		return nil
	}
	var v []byte
	prefix := pairKey(host, "")
	c := b.Cursor()
	for k, enc := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, enc = c.Next() {
		v = appendDetail(v, string(k[len(prefix):]), enc)
	}
	return v
}

// eachHostDetail calls fn with the details of host's open findings in
// advisory order.
func eachHostDetail(tx *bbolt.Tx, host string, fn func(advisory, encoding []byte) error) error {
	err := eachDetail(hostDetails(tx, host), fn)
	if errors.Is(err, errMalformedDetails) {
		err = fmt.Errorf("details of host %s: %w", host, err)
	}
	return err
}

// detailSeeker finds entries in a host's value, each search starting
// where the last one ended: asked in advisory order, a host's findings
// are found in one pass.
type detailSeeker struct {
	value, at []byte
}

// find returns advisory's encoding, or nil.
func (s *detailSeeker) find(advisory string) ([]byte, error) {
	for _, from := range [][]byte{s.at, s.value} {
		for v := from; len(v) > 0; {
			adv, encoding, rest, err := nextDetail(v)
			if err != nil {
				return nil, err
			}
			if string(adv) == advisory {
				s.at = rest
				return encoding, nil
			}
			v = rest
		}
	}
	return nil, nil
}

// eachStoredDetail calls fn with every stored finding's details, in (host,
// advisory) order, from either layout.
func eachStoredDetail(tx *bbolt.Tx, fn func(host, advisory, encoding []byte) error) error {
	if b := tx.Bucket(bucketHostDetails); b != nil {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			err := eachDetail(v, func(advisory, encoding []byte) error { return fn(k, advisory, encoding) })
			if errors.Is(err, errMalformedDetails) {
				err = fmt.Errorf("details of host %s: %w", k, err)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	b := tx.Bucket(bucketFindingDetails)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		host, advisory, ok := bytes.Cut(k, []byte{0})
		if !ok {
			continue
		}
		if err := fn(host, advisory, v); err != nil {
			return err
		}
	}
	return nil
}

// putHostValue stores a copy of a host's value, of host_details or
// open_records (bbolt holds a Put's value until commit, and v may be a
// reused buffer), or deletes it when empty, unless it is stored already (a
// Put of equal bytes still dirties a page).
func putHostValue(b *bbolt.Bucket, host string, v []byte) error {
	switch stored := b.Get([]byte(host)); {
	case bytes.Equal(stored, v):
		return nil
	case len(v) == 0:
		return b.Delete([]byte(host))
	}
	return b.Put([]byte(host), bytes.Clone(v))
}

// dropDetail takes advisory's entry out of host's value.
func dropDetail(tx *bbolt.Tx, host, advisory string) error {
	b := tx.Bucket(bucketHostDetails)
	encoding, rest, err := withoutEntry(b.Get([]byte(host)), advisory)
	if err != nil {
		return fmt.Errorf("details of host %s: %w", host, err)
	}
	if encoding == nil {
		return nil
	}
	return putHostValue(b, host, rest)
}

// withoutEntry returns the encoding of advisory's entry in a host's value
// (nil when it has none) and the value without it.
func withoutEntry(v []byte, advisory string) (encoding, rest []byte, err error) {
	for at := v; len(at) > 0; {
		adv, enc, after, err := nextDetail(at)
		if err != nil {
			return nil, nil, err
		}
		if string(adv) == advisory {
			start := len(v) - len(at)
			return enc, append(slices.Clip(v[:start]), after...), nil
		}
		at = after
	}
	return nil, v, nil
}

// migrateHostDetails (schema 10 and before, to 11) regroups finding_details
// into one value per host and drops it.
func migrateHostDetails(tx *bbolt.Tx) error {
	old := tx.Bucket(bucketFindingDetails)
	if old == nil {
		return nil
	}
	b := tx.Bucket(bucketHostDetails)
	var host, value []byte
	flush := func() error {
		if host == nil {
			return nil
		}
		return b.Put(host, value)
	}
	c := old.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		name, advisory, ok := bytes.Cut(k, []byte{0})
		if !ok {
			continue
		}
		if !bytes.Equal(name, host) {
			if err := flush(); err != nil {
				return err
			}
			// Fresh slices: bbolt holds a Put's key and value until commit.
			host, value = bytes.Clone(name), nil
		}
		value = appendDetail(value, string(advisory), v)
	}
	if err := flush(); err != nil {
		return err
	}
	return tx.DeleteBucket(bucketFindingDetails)
}
