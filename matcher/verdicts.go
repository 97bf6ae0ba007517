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
	return &hostVerdicts{v: v, key: key, table: v.tables[key]}
}

// lookup returns the verdict of a package with source information, nil
// when it was not judged yet.
func (hv *hostVerdicts) lookup(p *patchwatch.Package) *tupleVerdict {
	if hv == nil {
		return nil
	}
	for _, e := range hv.table[p.Name] {
		if e.pkg == *p {
			return e
		}
	}
	return nil
}

// remember records a verdict the host's matching computed.
func (hv *hostVerdicts) remember(p *patchwatch.Package, contributions []contribution, hostDependent bool) {
	if hv != nil {
		hv.judged = append(hv.judged, &tupleVerdict{pkg: *p, contributions: contributions, hostDependent: hostDependent})
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
	}
	for _, e := range hv.judged {
		if int(v.n.Load()) >= v.limit {
			return
		}
		if slices.ContainsFunc(table[e.pkg.Name], func(x *tupleVerdict) bool { return x.pkg == e.pkg }) {
			continue // judged meanwhile by another host
		}
		table[e.pkg.Name] = append(table[e.pkg.Name], e)
		v.n.Add(1)
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
