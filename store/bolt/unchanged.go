package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// Unchanged reports, for each evaluation, whether SyncBatch would write
// nothing for it: the host is stored as evaluated (same report),
// and its finding records, details, reboot state and host record already
// say what the evaluation does. It only reads, so the full re-evaluation's
// workers ask it in parallel and hand the serialised write transaction
// only the hosts that changed (most of a pass after a KEV update). A false
// is never wrong: SyncBatch then finds out for itself. The evaluations
// that changed are prepared for SyncBatch (PrepareEvaluations).
func (s *Store) Unchanged(ctx context.Context, batch []store.Evaluation) ([]bool, error) {
	out := make([]bool, len(batch))
	sc := scratch{intern: s.internTable()}
	defer s.releaseInternTable(sc.intern)
	err := s.db.View(func(tx *bbolt.Tx) error {
		for i := range batch {
			same, err := unchangedTx(tx, &batch[i], &sc)
			if err != nil {
				return err
			}
			out[i] = same
			if !same {
				if err := s.prepare(&batch[i]); err != nil {
					return err
				}
			}
		}
		return ctx.Err()
	})
	return out, err
}

// PrepareEvaluations encodes each evaluation's findings (into its
// Prepared), so that SyncBatch's one writer only compares and stores
// them: the full re-evaluation's workers call it in parallel.
func (s *Store) PrepareEvaluations(ctx context.Context, batch []store.Evaluation) error {
	for i := range batch {
		if err := s.prepare(&batch[i]); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// prepared is a bbolt Evaluation.Prepared: the encoding of each finding,
// in one buffer, which SyncBatch hands back to the store's pool once
// committed (bbolt holds a value until then).
type prepared struct {
	// findings is the slice encoded: an evaluation given other findings
	// since, even as many, is encoded anew.
	findings []patchwatch.Finding
	details  [][]byte
	buf      *[]byte
}

func (s *Store) prepare(ev *store.Evaluation) error {
	ends := make([]int, len(ev.Findings))
	size := 0
	for i := range ev.Findings {
		size += findingSizeHint(&ev.Findings[i])
	}
	held, _ := s.encodings.Get().(*[]byte)
	if held == nil || cap(*held) < size {
		b := make([]byte, 0, size)
		held = &b
	}
	buf := (*held)[:0]
	for i := range ev.Findings {
		f := &ev.Findings[i]
		var err error
		if buf, err = appendFindingTo(buf, f); err != nil {
			return fmt.Errorf("encode finding %s on %s: %w", f.Advisory, ev.Host.Name, err)
		}
		ends[i] = len(buf)
	}
	*held = buf
	p := &prepared{findings: ev.Findings, details: make([][]byte, len(ends)), buf: held}
	start := 0
	for i, end := range ends {
		p.details[i] = buf[start:end:end]
		start = end
	}
	ev.Prepared = p
	return nil
}

// releasePrepared returns the buffers of a batch's prepared encodings to
// the pool, once nothing holds them.
func (s *Store) releasePrepared(batch []store.Evaluation) {
	for i := range batch {
		if p, ok := batch[i].Prepared.(*prepared); ok && p.buf != nil {
			s.encodings.Put(p.buf)
			p.buf, p.details, p.findings = nil, nil, nil
		}
	}
}

// preparedDetails returns the encodings prepare made for ev, or nil.
func preparedDetails(ev *store.Evaluation) [][]byte {
	if p, ok := ev.Prepared.(*prepared); ok && sameFindings(p.findings, ev.Findings) && len(p.details) == len(ev.Findings) {
		return p.details
	}
	return nil
}

// sameFindings reports whether a and b are one slice of findings, of one
// length: checking the length alone stored the encodings of the findings
// prepared under the keys of others given since.
func sameFindings(a, b []patchwatch.Finding) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// internTable returns an interner from the pool, or a new one.
func (s *Store) internTable() *interner {
	if in, ok := s.interns.Get().(*interner); ok {
		return in
	}
	return newInterner()
}

// releaseInternTable returns in to the pool.
func (s *Store) releaseInternTable(in *interner) {
	s.interns.Put(in)
}

// scratch is space unchangedTx reuses from one host to the next.
type scratch struct {
	buf     []byte
	records []patchwatch.FindingRecord
	intern  *interner
}

// unchangedTx is Unchanged for one evaluation.
func unchangedTx(tx *bbolt.Tx, ev *store.Evaluation, sc *scratch) (bool, error) {
	h := &ev.Host
	if ev.Index != nil || tx.Bucket(bucketHosts).Get([]byte(h.Name)) == nil {
		return false, nil
	}
	storedRec := tx.Bucket(bucketHostRecords).Get([]byte(h.Name))
	if storedRec == nil {
		return false, nil
	}
	// First the record's briefs, which are cheap to read: a finding whose
	// urgency, status or severity changed (what a KEV update or a change
	// of the rules does to most hosts it touches) shows there.
	if match, known := briefsMatchEncoded(storedRec, ev.Findings); known && !match {
		return false, nil
	}
	// Then the details, read in one pass over the host's keys: as many
	// as there are findings, each equal to its finding's encoding (a KEV
	// entry's change shows here, though not in the briefs).
	n := 0
	for v := tx.Bucket(bucketHostDetails).Get([]byte(h.Name)); len(v) > 0; n++ {
		advisory, encoding, rest, err := nextDetail(v)
		if err != nil {
			return false, fmt.Errorf("details of host %s: %w", h.Name, err)
		}
		f := findFinding(ev.Findings, advisory)
		if f == nil {
			return false, nil
		}
		data, err := appendFinding(sc.buf, f)
		if err != nil {
			return false, err
		}
		sc.buf = data
		if !bytes.Equal(encoding, data) {
			return false, nil
		}
		v = rest
	}
	if n != len(ev.Findings) {
		return false, nil
	}
	prev, err := hostRecordsInto(tx, h.Name, sc.records, sc.intern)
	if err != nil {
		return false, err
	}
	sc.records = prev
	// Reconcile changes nothing: every finding has its open record with
	// the same urgency, status and owner, and no other record is open.
	open := 0
	for i := range prev {
		if prev[i].Open() {
			open++
		}
	}
	if open != len(ev.Findings) {
		return false, nil
	}
	for i := range ev.Findings {
		f := &ev.Findings[i]
		r := findRecord(prev, f.Advisory)
		if r == nil || !r.Open() || r.Urgency != f.Urgency || r.Status != f.Status || r.Owner != h.Owner {
			return false, nil
		}
	}
	// The record carries the host's reboot state (SyncBatch writes both
	// from the same value): a host that needs no reboot is unchanged only
	// with a record that says so, which the comparison below tells; only
	// a host needing one has its record decoded for when it began.
	var rebootSince time.Time
	if ev.RebootRequired {
		var stored patchwatch.HostRecord
		if err := decodeHostSkeleton(storedRec, &stored, sc.intern); err != nil {
			return false, fmt.Errorf("decode record of host %s: %w", h.Name, err)
		}
		if stored.RebootSince.IsZero() {
			return false, nil
		}
		rebootSince = stored.RebootSince
	}
	rec := patchwatch.NewHostRecord(h, ev.Findings, prev, rebootSince)
	return bytes.Equal(storedRec, encodeHostRecord(&rec)), nil
}

// findFinding returns the finding of advisory in findings, or nil.
func findFinding(findings []patchwatch.Finding, advisory []byte) *patchwatch.Finding {
	for i := range findings {
		if findings[i].Advisory == string(advisory) {
			return &findings[i]
		}
	}
	return nil
}

// findRecord returns the record of advisory in records (sorted by
// advisory, as stored), or nil.
func findRecord(records []patchwatch.FindingRecord, advisory string) *patchwatch.FindingRecord {
	lo, hi := 0, len(records)
	for lo < hi {
		m := (lo + hi) / 2
		if records[m].Advisory < advisory {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(records) && records[lo].Advisory == advisory {
		return &records[lo]
	}
	return nil
}
