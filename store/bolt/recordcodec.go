package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	json "github.com/goccy/go-json"
	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
)

// Host records, finding details and finding records are what every fleet
// query walks (the host list, the listings, the digests, the console's
// pages, time-to-patch): they are stored in a compact binary form that decodes several times faster than
// JSON. The first byte tells the forms apart: records written before
// schema 7 are JSON objects ('{') and still decode.

const recordCodecV1 = 1

var errShortRecord = errors.New("truncated record")

type recordEncoder struct{ b []byte }

func (e *recordEncoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *recordEncoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *recordEncoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *recordEncoder) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// list writes a list's length+1, or 0 for no list, so that an empty list
// and none decode as they were.
func (e *recordEncoder) list(n int, isNil bool) {
	if isNil {
		e.uint(0)
		return
	}
	e.uint(uint64(n) + 1)
}

func (e *recordEncoder) strs(ss []string) {
	e.list(len(ss), ss == nil)
	for _, s := range ss {
		e.str(s)
	}
}

// time keeps the instant and the zone offset, as a JSON round trip does
// (an offset of zero decodes as UTC).
func (e *recordEncoder) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	_, offset := t.Zone()
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
	e.int(int64(offset))
}

type recordDecoder struct {
	b   []byte
	err error
	// intern, when set, shares one copy of each string among the records
	// of a walk (advisory IDs, CVEs, package names, owners recur on many
	// hosts): fewer allocations, less for the collector to trace.
	intern *interner
	// skim skips string lists (a brief's CVEs and packages) and a host's
	// checks, which a skeleton leaves out.
	skim bool
}

func (d *recordDecoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShortRecord
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *recordDecoder) bool() bool {
	c := d.byte()
	if c > 1 && d.err == nil {
		d.err = errors.New("bad flag in record")
	}
	return c == 1
}

// raw reads a string's bytes, aliasing the value.
func (d *recordDecoder) raw() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShortRecord
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

// unique reads a string that seldom recurs between records (a host's
// name, a check's evidence): not interned.
func (d *recordDecoder) unique() string { return string(d.raw()) }

func (d *recordDecoder) str() string { return d.intern1(d.raw()) }

// known reads a string that is likely s (the host a record is of): s
// itself when it is, without a lookup.
func (d *recordDecoder) known(s string) string {
	b := d.raw()
	if string(b) == s {
		return s
	}
	return d.intern1(b)
}

// intern1 is str for bytes already read.
func (d *recordDecoder) intern1(b []byte) string {
	return d.intern.str(b)
}

// status reads a finding's status: one of the few, without a lookup.
func (d *recordDecoder) status() patchwatch.Status {
	b := d.raw()
	for _, s := range statuses {
		if string(b) == string(s) {
			return s
		}
	}
	return patchwatch.Status(d.intern1(b))
}

// statuses are the statuses a finding has, most common first.
var statuses = [...]patchwatch.Status{patchwatch.StatusUpdate, patchwatch.StatusPendingReboot, patchwatch.StatusNoFix,
	patchwatch.StatusSubscription, patchwatch.StatusUnknownVersion}

func (d *recordDecoder) strs() []string {
	n := d.uint()
	if n == 0 || d.err != nil {
		return nil
	}
	if n-1 > uint64(len(d.b)) {
		d.err = errShortRecord
		return nil
	}
	if d.skim {
		for range n - 1 {
			d.raw()
		}
		return nil
	}
	out := make([]string, n-1)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

// skipChecks skips n checks of a host record (d.skim set: their item
// lists too).
func (d *recordDecoder) skipChecks(n int) {
	for range n {
		d.raw() // id
		d.raw() // status
		d.raw() // evidence
		d.strs()
		d.raw() // state
		d.raw() // command
	}
}

func (d *recordDecoder) skipTime() {
	if d.bool() {
		d.int()
		d.uint()
		d.int()
	}
}

func (d *recordDecoder) time() time.Time {
	if !d.bool() {
		return time.Time{}
	}
	sec, nsec, offset := d.int(), d.uint(), d.int()
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if offset == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(offset)))
}

// count reads a list length, refusing one longer than the bytes left
// (each element takes at least one), so a corrupt value cannot ask for a
// huge allocation.
func (d *recordDecoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		if d.err == nil {
			d.err = errShortRecord
		}
		return 0
	}
	return int(n)
}

func encodeHostRecord(r *patchwatch.HostRecord) []byte {
	e := recordEncoder{b: make([]byte, 0, 128+64*len(r.Findings))}
	e.b = append(e.b, recordCodecV1)
	e.str(r.Name)
	e.str(r.Owner)
	e.str(r.Project)
	e.str(r.Release)
	e.str(string(r.Family))
	e.int(int64(r.Packages))
	e.bool(r.SourceInfo)
	e.bool(r.SourcesKnown)
	e.bool(r.RebootRequired)
	e.time(r.RebootSince)
	e.time(r.ReportedAt)
	e.uint(uint64(len(r.Checks)))
	for i := range r.Checks {
		c := &r.Checks[i]
		e.str(c.ID)
		e.str(c.Status)
		e.str(c.Evidence)
		e.strs(c.Items)
		e.str(c.State)
		e.str(c.Command)
	}
	e.uint(uint64(len(r.Findings)))
	for i := range r.Findings {
		f := &r.Findings[i]
		e.str(f.Advisory)
		e.int(int64(f.Urgency))
		e.int(int64(f.Severity))
		e.str(string(f.Status))
		e.time(f.Published)
		e.time(f.FirstSeen)
		e.strs(f.CVEs)
		e.strs(f.Packages)
	}
	return e.b
}

// openRecord sets d to decode a binary value and returns true, or
// returns false after decoding a JSON one into r (or failing on an
// unknown form). The caller's d stays on its stack: one allocation less
// per record of a walk.
func openRecord(v []byte, r any, intern *interner, d *recordDecoder) (bool, error) {
	switch {
	case len(v) > 0 && v[0] == '{':
		return false, json.Unmarshal(v, r)
	case len(v) == 0 || v[0] != recordCodecV1:
		return false, errors.New("unknown record encoding")
	}
	*d = recordDecoder{b: v[1:], intern: intern}
	return true, nil
}

func decodeHostRecord(v []byte, r *patchwatch.HostRecord) error {
	return decodeHostRecordInterned(v, r, nil)
}

// decodeHostRecordInterned decodes a host record sharing its strings
// through intern (nil: none shared).
func decodeHostRecordInterned(v []byte, r *patchwatch.HostRecord, intern *interner) error {
	return decodeHostRecordAs(v, r, intern, false)
}

// decodeHostSkeleton decodes a host record without its string lists (the
// CVEs and packages of its briefs) and its checks: what a write needs of
// the record it replaces (owner, report time, which findings at which
// urgency), at a fraction of the cost.
func decodeHostSkeleton(v []byte, r *patchwatch.HostRecord, intern *interner) error {
	return decodeHostRecordAs(v, r, intern, true)
}

// briefsMatchEncoded reports, without decoding it, whether an encoded
// host record's briefs name the findings, each at its urgency, severity
// and status (usually in the same order); known is false for a record it
// cannot read so (JSON, or malformed), which the caller decodes instead.
func briefsMatchEncoded(v []byte, findings []patchwatch.Finding) (match, known bool) {
	if len(v) == 0 || v[0] != recordCodecV1 {
		return false, false
	}
	d := recordDecoder{b: v[1:], skim: true}
	for range 5 { // name, owner, project, release, family
		d.raw()
	}
	d.int()
	d.bool()
	d.bool()
	d.bool()
	d.skipTime()
	d.skipTime()
	d.skipChecks(d.count())
	if n := d.count(); n != len(findings) || d.err != nil {
		return false, d.err == nil
	}
	// The briefs are few: read them once, then look each finding up.
	type brief struct {
		advisory, status  []byte
		urgency, severity int64
	}
	var stack [32]brief
	briefs := stack[:0]
	for range len(findings) {
		b := brief{advisory: d.raw(), urgency: d.int(), severity: d.int(), status: d.raw()}
		d.skipTime()
		d.skipTime()
		d.strs()
		d.strs()
		briefs = append(briefs, b)
	}
	if d.done() != nil {
		return false, false
	}
	for i := range findings {
		f := &findings[i]
		j := i
		if string(briefs[j].advisory) != f.Advisory {
			for j = 0; j < len(briefs) && string(briefs[j].advisory) != f.Advisory; j++ {
			}
			if j == len(briefs) {
				return false, true
			}
		}
		b := &briefs[j]
		if b.urgency != int64(f.Urgency) || b.severity != int64(f.Severity) || string(b.status) != string(f.Status) {
			return false, true
		}
	}
	return true, true
}

func decodeHostRecordAs(v []byte, r *patchwatch.HostRecord, intern *interner, skim bool) error {
	var d recordDecoder
	if ok, err := openRecord(v, r, intern, &d); !ok {
		return err
	}
	d.skim = skim
	*r = patchwatch.HostRecord{
		Name: d.unique(), Owner: d.str(), Project: d.str(), Release: d.str(), Family: patchwatch.Family(d.str()),
		Packages: int(d.int()), SourceInfo: d.bool(), SourcesKnown: d.bool(), RebootRequired: d.bool(), RebootSince: d.time(), ReportedAt: d.time(),
	}
	if n := d.count(); n > 0 && skim {
		d.skipChecks(n)
	} else if n > 0 {
		r.Checks = make([]patchwatch.CheckResult, n)
		for i := range r.Checks {
			r.Checks[i] = patchwatch.CheckResult{ID: d.str(), Status: d.str(), Evidence: d.unique(), Items: d.strs(), State: d.str(), Command: d.unique()}
		}
	}
	if n := d.count(); n > 0 {
		r.Findings = make([]patchwatch.FindingBrief, n)
		for i := range r.Findings {
			r.Findings[i] = patchwatch.FindingBrief{Advisory: d.str(), Urgency: patchwatch.Urgency(d.int()), Severity: patchwatch.Severity(d.int()),
				Status: d.status(), Published: d.time(), FirstSeen: d.time(), CVEs: d.strs(), Packages: d.strs()}
		}
	}
	return d.done()
}

func encodeFindingRecord(r *patchwatch.FindingRecord) []byte {
	return appendFindingRecord(make([]byte, 0, 96), r)
}

// appendFindingRecord appends r's encoding to buf.
func appendFindingRecord(buf []byte, r *patchwatch.FindingRecord) []byte {
	e := recordEncoder{b: buf}
	e.b = append(e.b, recordCodecV1)
	e.str(r.Host)
	e.str(r.Owner)
	e.str(r.Advisory)
	e.int(int64(r.Urgency))
	e.str(string(r.Status))
	e.time(r.FirstSeen)
	e.time(r.LastSeen)
	e.time(r.ResolvedAt)
	e.str(r.ResolvedBy)
	e.int(int64(r.Reopened))
	return e.b
}

// encodeEvent is a notifier event in the records' binary form: a fleet's
// first evaluation queues a million, and encoding/json took a sixth of
// its writer's time. Events queued before are JSON and still decode.
func encodeEvent(ev *patchwatch.NotifyEvent) []byte {
	return appendEvent(make([]byte, 0, 48+len(ev.Owner)+len(ev.Project)+len(ev.Kind)+len(ev.Host)+len(ev.Advisory)), ev)
}

// appendEvent appends the encoding of ev to buf.
func appendEvent(buf []byte, ev *patchwatch.NotifyEvent) []byte {
	e := recordEncoder{b: buf}
	e.b = append(e.b, recordCodecV1)
	e.uint(ev.Seq)
	e.str(ev.Owner)
	e.str(ev.Project)
	e.str(ev.Kind)
	e.str(ev.Host)
	e.str(ev.Advisory)
	e.int(int64(ev.Urgency))
	e.int(int64(ev.Previous))
	e.time(ev.At)
	return e.b
}

func decodeEvent(v []byte, ev *patchwatch.NotifyEvent) error {
	var d recordDecoder
	if ok, err := openRecord(v, ev, nil, &d); !ok {
		return err
	}
	*ev = patchwatch.NotifyEvent{Seq: d.uint(), Owner: d.str(), Project: d.str(), Event: patchwatch.Event{
		Kind: d.str(), Host: d.str(), Advisory: d.str(), Urgency: patchwatch.Urgency(d.int()), Previous: patchwatch.Urgency(d.int()), At: d.time()}}
	return d.done()
}

func decodeFindingRecord(v []byte, r *patchwatch.FindingRecord) error {
	return decodeFindingRecordInterned(v, r, nil)
}

func decodeFindingRecordInterned(v []byte, r *patchwatch.FindingRecord, intern *interner) error {
	return decodeFindingRecordOf(v, r, intern, "")
}

// decodeFindingRecordOf is decodeFindingRecordInterned for a record of
// host (as its key says), whose name it then shares.
func decodeFindingRecordOf(v []byte, r *patchwatch.FindingRecord, intern *interner, host string) error {
	var d recordDecoder
	if ok, err := openRecord(v, r, intern, &d); !ok {
		return err
	}
	*r = patchwatch.FindingRecord{Host: d.known(host), Owner: d.str(), Advisory: d.str(), Urgency: patchwatch.Urgency(d.int()),
		Status: d.status(), FirstSeen: d.time(), LastSeen: d.time(), ResolvedAt: d.time(), ResolvedBy: d.str(),
		Reopened: int(d.int())}
	return d.done()
}

// done reports a decoding error, or bytes left over (a value written by a
// newer encoding this build does not know).
func (d *recordDecoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("unexpected bytes after record")
	}
	return d.err
}

// reencodeRecords rewrites the JSON host records, finding details and
// finding records of a schema 6 database in the binary form, a batch of keys at a time (a bucket may
// not be written while a cursor walks it).
func reencodeRecords(tx *bbolt.Tx) error {
	rewrite := func(bucket []byte, reencode func(v []byte) ([]byte, error)) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil // finding_details, absent before schema 6
		}
		var next []byte // the first key not yet visited; nil: from the start
		for {
			var keys, values [][]byte
			c := b.Cursor()
			k, v := c.First()
			if next != nil {
				k, v = c.Seek(next)
			}
			for ; k != nil; k, v = c.Next() {
				if len(keys) == 1024 {
					next = bytes.Clone(k)
					break
				}
				if len(v) == 0 || v[0] != '{' {
					continue
				}
				data, err := reencode(v)
				if err != nil {
					return fmt.Errorf("%s %s: %w", bucket, k, err)
				}
				keys, values = append(keys, bytes.Clone(k)), append(values, data)
			}
			for i := range keys {
				if err := b.Put(keys[i], values[i]); err != nil {
					return err
				}
			}
			if k == nil {
				return nil
			}
		}
	}
	if err := rewrite(bucketHostRecords, func(v []byte) ([]byte, error) {
		var r patchwatch.HostRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, err
		}
		return encodeHostRecord(&r), nil
	}); err != nil {
		return err
	}
	if err := rewrite(bucketFindingDetails, func(v []byte) ([]byte, error) {
		var f patchwatch.Finding
		if err := json.Unmarshal(v, &f); err != nil {
			return nil, err
		}
		return encodeFinding(&f)
	}); err != nil {
		return err
	}
	return rewrite(bucketFindings, func(v []byte) ([]byte, error) {
		var r patchwatch.FindingRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, err
		}
		return encodeFindingRecord(&r), nil
	})
}

func (e *recordEncoder) float(f float64) { e.uint(math.Float64bits(f)) }

func (d *recordDecoder) float() float64 { return math.Float64frombits(d.uint()) }

// encodeFinding writes a finding's details, the value listings decode
// most: its rare nested parts (a silence) ride along as JSON.
func encodeFinding(f *patchwatch.Finding) ([]byte, error) {
	return appendFinding(make([]byte, 0, findingSizeHint(f)), f)
}

// findingSizeHint is about the size of f's encoding, a little over for
// most: its strings and a few bytes for each field.
func findingSizeHint(f *patchwatch.Finding) int {
	n := 64 + len(f.Host) + len(f.Advisory) + len(f.Title) + len(f.URL) + len(f.Command) + len(f.SourceSeverity) + len(f.Subscription)
	for _, s := range f.UrgencyReasons {
		n += len(s) + 2
	}
	for _, s := range f.CVEs {
		n += len(s) + 2
	}
	for _, s := range f.Notes {
		n += len(s) + 2
	}
	for i := range f.Packages {
		p := &f.Packages[i]
		n += 12 + len(p.Name) + len(p.Installed) + len(p.Fixed) + len(p.Source) + len(p.Via)
	}
	for i := range f.KEV {
		k := &f.KEV[i]
		n += 16 + len(k.CVE) + len(k.Name) + len(k.DateAdded) + len(k.DueDate) + len(k.Ransomware)
	}
	return n + 96 // the silence, times and flags
}

// appendFinding is encodeFinding into buf[:0].
func appendFinding(buf []byte, f *patchwatch.Finding) ([]byte, error) {
	return appendFindingTo(buf[:0], f)
}

// appendFindingTo appends f's encoding to buf.
func appendFindingTo(buf []byte, f *patchwatch.Finding) ([]byte, error) {
	e := recordEncoder{b: buf}
	e.b = append(e.b, recordCodecV1)
	e.str(f.Host)
	e.str(f.Advisory)
	e.str(string(f.Source))
	e.str(f.Title)
	e.int(int64(f.Severity))
	e.int(int64(f.Urgency))
	e.strs(f.UrgencyReasons)
	e.float(f.CVSS)
	e.str(f.SourceSeverity)
	e.time(f.Published)
	e.strs(f.CVEs)
	e.str(f.URL)
	e.str(string(f.Status))
	e.str(f.Subscription)
	e.list(len(f.Packages), f.Packages == nil)
	for _, p := range f.Packages {
		e.str(p.Name)
		e.str(p.Installed)
		e.str(p.Fixed)
		e.str(p.Source)
		e.str(p.Via)
	}
	e.str(f.Command)
	e.bool(f.RebootHint)
	e.bool(f.RunningKernel)
	e.time(f.FirstSeen)
	e.time(f.Deadline)
	e.bool(f.Overdue)
	silenced := []byte{}
	if f.Silenced != nil {
		var err error
		if silenced, err = json.Marshal(f.Silenced); err != nil {
			return nil, err
		}
	}
	e.str(string(silenced))
	e.list(len(f.KEV), f.KEV == nil)
	for _, k := range f.KEV {
		e.str(k.CVE)
		e.str(k.Name)
		e.str(k.DateAdded)
		e.str(k.DueDate)
		e.str(k.Ransomware)
	}
	e.strs(f.Notes)
	return e.b, nil
}

func decodeFinding(v []byte, f *patchwatch.Finding) error {
	var d recordDecoder
	if ok, err := openRecord(v, f, nil, &d); !ok {
		return err
	}
	*f = patchwatch.Finding{Host: d.str(), Advisory: d.str(), Source: patchwatch.Source(d.str()), Title: d.str(),
		Severity: patchwatch.Severity(d.int()), Urgency: patchwatch.Urgency(d.int()), UrgencyReasons: d.strs(), CVSS: d.float(),
		SourceSeverity: d.str(), Published: d.time(), CVEs: d.strs(), URL: d.str(), Status: patchwatch.Status(d.str()), Subscription: d.str()}
	if n := d.count(); n > 0 {
		f.Packages = make([]patchwatch.FindingPackage, n-1)
		for i := range f.Packages {
			f.Packages[i] = patchwatch.FindingPackage{Name: d.str(), Installed: d.str(), Fixed: d.str(), Source: d.str(), Via: d.str()}
		}
	}
	f.Command, f.RebootHint, f.RunningKernel = d.str(), d.bool(), d.bool()
	f.FirstSeen, f.Deadline, f.Overdue = d.time(), d.time(), d.bool()
	if silenced := d.raw(); len(silenced) > 0 && d.err == nil {
		f.Silenced = new(patchwatch.Silence)
		if err := json.Unmarshal(silenced, f.Silenced); err != nil {
			return err
		}
	}
	if n := d.count(); n > 0 {
		f.KEV = make([]patchwatch.KEVEntry, n-1)
		for i := range f.KEV {
			f.KEV[i] = patchwatch.KEVEntry{CVE: d.str(), Name: d.str(), DateAdded: d.str(), DueDate: d.str(), Ransomware: d.str()}
		}
	}
	f.Notes = d.strs()
	return d.done()
}
