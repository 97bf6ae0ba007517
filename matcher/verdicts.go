package matcher

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/patchwatch/patchwatch"
)

// Hosts built from the same images share most package tuples. Verdicts
// memoizes, per distinct (release, package tuple), what judging the tuple
// against an index's fixes yields, so that a fleet's evaluation judges each
// tuple once and every host holding it reuses the verdict. Only packages
// whose verdict depends on the tuple alone are memoized: kernels (whose
// status depends on the host's running and newest kernels) and packages
// without source information (matched through the release's learnt binary
// map) are judged per host, as is everything about a finding that depends
// on the host (its notes, command, reboot state).

// DefaultVerdictLimit bounds a Verdicts' entries: past it, tuples are
// judged per host again rather than remembered.
const DefaultVerdictLimit = 1 << 20

// Verdicts is a memo of tuple verdicts against one Index. It is safe for
// concurrent use; it is only valid for the Index that made it, which must
// not change while it is used (build a new Index, and new Verdicts, when
// advisories change).
type Verdicts struct {
	ix    *Index
	limit int
	// mu is read-held while a host is matched (one lock per host, not per
	// package) and write-held while its new verdicts are added.
	mu sync.RWMutex
	n  atomic.Int64
	// tables holds, by release judged on (and, for rpm hosts, whether the
	// inventory labels modules), then binary name, the tuples judged.
	tables map[verdictTable]map[string][]*tupleVerdict
	// byID holds the same verdicts by the tuple ID a store interned the
	// tuple under (MatchTuples), chained across tables: one slice index
	// instead of a string hash and a six-field comparison.
	byID []*tupleVerdict
	// skip holds, by tuple ID, the tables the tuple is skippable on, one
	// bit for each of the first 64 tables in tableNums (a host's view
	// tests one word per package, in an array that stays in cache, rather
	// than follow a pointer per package; the same tuple is often on
	// several releases).
	skip      []uint64
	tableNums map[verdictTable]int
	// canon holds each table's key as its verdicts carry it: a host's key
	// is replaced by it, so that comparing the two (once per package)
	// compares one string with itself, not two copies of a release name.
	canon map[verdictTable]verdictTable
}

type verdictTable struct {
	release    string
	moduleInfo bool
}

// tupleVerdict is one tuple's verdict: the fixes it is exposed to (none
// when no fix names it or it is not exposed), or hostDependent for a
// kernel, whose verdict depends on the host's running and newest kernels.
type tupleVerdict struct {
	pkg           patchwatch.Package
	contributions []contribution
	hostDependent bool
	// skippable: the tuple contributes nothing and no whole-host state
	// (kernels, the fix command's kernel meta packages) reads it, so a
	// host's matching may leave it out (TupleView).
	skippable bool
	// id is the store's tuple ID (0 when matched without one); next
	// chains the verdicts of one ID on other tables.
	id   uint32
	key  verdictTable
	next *tupleVerdict
}

// contribution is one fix a package is exposed to, as collector.add takes.
type contribution struct {
	ref                          *fixRef
	status                       patchwatch.Status
	installed, source, note, via string
}

// NewVerdicts returns an empty memo for ix holding up to limit tuples
// (DefaultVerdictLimit when limit is 0).
func (ix *Index) NewVerdicts(limit int) *Verdicts {
	if limit <= 0 {
		limit = DefaultVerdictLimit
	}
	return &Verdicts{ix: ix, limit: limit, tables: map[verdictTable]map[string][]*tupleVerdict{}}
}

// Len returns the number of tuples judged and remembered.
func (v *Verdicts) Len() int { return int(v.n.Load()) }

// hostVerdicts is one host's view of a memo while it is matched: the
// table of its release, read-locked until done, and the verdicts it
// judged, added by done.
type hostVerdicts struct {
	v      *Verdicts
	key    verdictTable
	table  map[string][]*tupleVerdict
	judged []*tupleVerdict
}

// forHost read-locks v for one host's matching; done unlocks it.
func (v *Verdicts) forHost(key verdictTable) *hostVerdicts {
	if v == nil {
		return nil
	}
	v.mu.RLock()
	if known, ok := v.canon[key]; ok {
		key = known
	}
	return &hostVerdicts{v: v, key: key, table: v.tables[key]}
}

// lookup returns the verdict of a package with source information, nil
// when it was not judged yet; id, when not 0, is the tuple's ID.
func (hv *hostVerdicts) lookup(p *patchwatch.Package, id uint32) *tupleVerdict {
	if hv == nil {
		return nil
	}
	if id != 0 {
		return hv.v.byIDLocked(hv.key, id)
	}
	for _, e := range hv.table[p.Name] {
		if e.pkg == *p {
			return e
		}
	}
	return nil
}

// byIDLocked returns the verdict of tuple id on table key; v.mu is held.
func (v *Verdicts) byIDLocked(key verdictTable, id uint32) *tupleVerdict {
	if int(id) >= len(v.byID) {
		return nil
	}
	for e := v.byID[id]; e != nil; e = e.next {
		if e.key == key {
			return e
		}
	}
	return nil
}

// remember records a verdict the host's matching computed for a package
// of tuple id (0 when unknown); wholeHost is whether anything but the
// package's own verdict reads it (kernel packages).
func (hv *hostVerdicts) remember(p *patchwatch.Package, id uint32, contributions []contribution, hostDependent, wholeHost bool) {
	if hv != nil {
		hv.judged = append(hv.judged, &tupleVerdict{pkg: *p, contributions: contributions, hostDependent: hostDependent,
			skippable: len(contributions) == 0 && !hostDependent && !wholeHost, id: id, key: hv.key})
	}
}

// done ends the host's matching and adds its new verdicts to the memo.
func (hv *hostVerdicts) done() {
	if hv == nil {
		return
	}
	v := hv.v
	v.mu.RUnlock()
	if len(hv.judged) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	table := v.tables[hv.key]
	if table == nil {
		table = map[string][]*tupleVerdict{}
		v.tables[hv.key] = table
		if v.canon == nil {
			v.canon = map[verdictTable]verdictTable{}
		}
		v.canon[hv.key] = hv.key
	}
	for _, e := range hv.judged {
		if int(v.n.Load()) >= v.limit {
			return
		}
		if i := slices.IndexFunc(table[e.pkg.Name], func(x *tupleVerdict) bool { return x.pkg == e.pkg }); i >= 0 {
			// Judged meanwhile by another host, or before without its ID.
			if known := table[e.pkg.Name][i]; e.id != 0 && known.id == 0 {
				known.id = e.id
				v.linkID(known)
			}
			continue
		}
		table[e.pkg.Name] = append(table[e.pkg.Name], e)
		if e.id != 0 {
			v.linkID(e)
		}
		v.n.Add(1)
	}
}

// linkID files e under its tuple ID; v.mu is write-held.
func (v *Verdicts) linkID(e *tupleVerdict) {
	if int(e.id) >= len(v.byID) {
		n := max(int(e.id)+1, 2*len(v.byID))
		v.byID = append(v.byID, make([]*tupleVerdict, n-len(v.byID))...)
		v.skip = append(v.skip, make([]uint64, n-len(v.skip))...)
	}
	e.next = v.byID[e.id]
	v.byID[e.id] = e
	if e.skippable {
		v.skip[e.id] |= v.tableBit(e.key)
	}
}

// tableBit returns the bit of table key in skip, numbering it when new,
// or 0 past the 64th table; v.mu is write-held.
func (v *Verdicts) tableBit(key verdictTable) uint64 {
	num, ok := v.tableNums[key]
	if !ok {
		if v.tableNums == nil {
			v.tableNums = map[verdictTable]int{}
		}
		num = len(v.tableNums)
		v.tableNums[key] = num
	}
	if num >= 64 {
		return 0
	}
	return 1 << num
}

// TupleView is one host's read-only view of a memo by tuple ID, for a
// caller that leaves out of the host, before matching it, the packages
// whose verdict cannot change its findings (Skippable). It read-locks the
// memo until Close.
type TupleView struct {
	v   *Verdicts
	key verdictTable
	// bit is the table's in v.skip, 0 past the 64th table (whose
	// verdicts are then followed by ID).
	bit uint64
}

// View returns h's view of v by tuple ID. A nil v gives a view that skips
// nothing.
func (ix *Index) View(h *patchwatch.Host, v *Verdicts) *TupleView {
	if v == nil || v.ix != ix {
		return &TupleView{}
	}
	v.mu.RLock()
	key := ix.verdictKey(h)
	if known, ok := v.canon[key]; ok {
		key = known
	}
	t := &TupleView{v: v, key: key}
	if num, ok := v.tableNums[key]; ok && num < 64 {
		t.bit = 1 << num
	}
	return t
}

// Skippable reports whether the package of tuple id is known to add
// nothing to h's findings: it has source information, is not a kernel
// package, and no fix concerns it. Leaving such packages out of h (and
// out of MatchTuples's ids) does not change what matching returns.
func (t *TupleView) Skippable(id uint32) bool {
	if t.v == nil || int(id) >= len(t.v.skip) {
		return false
	}
	if t.bit != 0 {
		return t.v.skip[id]&t.bit != 0
	}
	e := t.v.byIDLocked(t.key, id)
	return e != nil && e.skippable
}

// Keep appends to kept the IDs of ids that are not Skippable.
func (t *TupleView) Keep(ids, kept []uint32) []uint32 {
	if t.v == nil {
		return append(kept, ids...)
	}
	if t.bit == 0 {
		for _, id := range ids {
			if !t.Skippable(id) {
				kept = append(kept, id)
			}
		}
		return kept
	}
	skip, bit := t.v.skip, t.bit
	for _, id := range ids {
		if int(id) >= len(skip) || skip[id]&bit == 0 {
			kept = append(kept, id)
		}
	}
	return kept
}

// Close releases the view's lock.
func (t *TupleView) Close() {
	if t.v != nil {
		t.v.mu.RUnlock()
		t.v = nil
	}
}

// contributed reports whether out already holds a fix of ref's advisory:
// a package counts once per advisory, by its first matching fix.
func contributed(out []contribution, ref *fixRef) bool {
	for i := range out {
		if out[i].ref.advisory == ref.advisory {
			return true
		}
	}
	return false
}

// addAll records package i's verdict.
func (c *collector) addAll(verdict []contribution, i int, st *pkgState) {
	for k := range verdict {
		ct := &verdict[k]
		c.add(ct.ref, i, st, ct.status, ct.installed, ct.source, ct.note)
		if ct.via != "" {
			c.markVia(ct.ref, ct.via)
		}
	}
}
