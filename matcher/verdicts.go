package matcher

import (
	"sync"

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
	mu    sync.RWMutex
	m     map[verdictKey][]contribution
}

// verdictKey is a package tuple as judged on a release: moduleInfo is the
// rpm host's (a modular package is matched differently without labels).
type verdictKey struct {
	release    string
	moduleInfo bool
	pkg        patchwatch.Package
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
	return &Verdicts{ix: ix, limit: limit, m: map[verdictKey][]contribution{}}
}

// Len returns the number of tuples judged and remembered.
func (v *Verdicts) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.m)
}

// get returns the verdict of key, judging it with judge the first time.
func (v *Verdicts) get(key verdictKey, judge func() []contribution) []contribution {
	v.mu.RLock()
	out, ok := v.m[key]
	v.mu.RUnlock()
	if ok {
		return out
	}
	out = judge()
	v.mu.Lock()
	if len(v.m) < v.limit {
		v.m[key] = out
	}
	v.mu.Unlock()
	return out
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
