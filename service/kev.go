package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/batchgc"
	"github.com/patchwatch/patchwatch/store"
)

// kevCounter is implemented by stores that count their KEV entries.
type kevCounter interface {
	CountKEV(ctx context.Context) (int, error)
}

// KEVChanges compares a new KEV catalog with the stored one, before it
// replaces it: the CVEs whose entry it adds or changes, and whether it
// drops any (the stored entries are read by the new catalog's CVEs, so a
// dropped one shows only in the count; then, or when the store cannot
// count them, every host must be re-evaluated).
func (e *Service) KEVChanges(ctx context.Context, entries []patchwatch.KEVEntry) (changed []string, dropped bool, err error) {
	counter, ok := e.s.(kevCounter)
	if !ok {
		return nil, true, nil
	}
	cves := make([]string, len(entries))
	for i := range entries {
		cves[i] = entries[i].CVE
	}
	stored, err := e.s.KEV(ctx, cves)
	if err != nil {
		return nil, false, fmt.Errorf("read the stored KEV catalog: %w", err)
	}
	n, err := counter.CountKEV(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("count the stored KEV catalog: %w", err)
	}
	for _, en := range entries {
		if old, ok := stored[en.CVE]; !ok || old != en {
			changed = append(changed, en.CVE)
		}
	}
	slices.Sort(changed)
	return slices.Compact(changed), n != len(stored), nil
}

// ReassessCVEs re-evaluates, after a KEV update changed the entries of
// cves, the hosts it can change: those with an open finding of an advisory
// that names one of them (KEV bears on a finding's urgency and reasons
// only). It runs the full re-evaluation's pipeline over just those hosts
// and returns how many there were; without a catalog of the advisories,
// or while the stored findings await a full pass, it runs the full one.
func (e *Service) ReassessCVEs(ctx context.Context, cves []string) (n int, err error) {
	if len(cves) == 0 {
		return 0, nil
	}
	e.evaluating.Lock()
	defer e.evaluating.Unlock()
	why := "the KEV catalog changed"
	pending, err := e.s.EvaluationPending(ctx)
	if err != nil {
		return 0, err
	}
	c, err := e.fullCatalog(ctx)
	if err != nil {
		return 0, err
	}
	if pending != "" || c == nil {
		if pending != "" {
			why = pending
		}
		if n, err = e.s.CountHosts(ctx); err != nil {
			return 0, err
		}
		return n, e.reevaluate(ctx, why)
	}
	named := make(map[string]bool, len(cves))
	for _, cve := range cves {
		named[cve] = true
	}
	advisories := c.index.AdvisoryIDs(func(a *patchwatch.Advisory) bool {
		return slices.ContainsFunc(a.CVEs, func(cve string) bool { return named[cve] })
	})
	names, err := e.s.HostsWithAdvisories(ctx, advisories)
	if err != nil {
		return 0, err
	}
	defer batchgc.Begin()() // as the full pass
	started, startedAt := time.Now(), e.now()
	done := 0
	defer func() { e.reportProgress(ctx, done, len(names), startedAt, true, err) }()
	log := e.log.With("job", "re-evaluation")
	log.Info("re-evaluation started", "hosts", len(names), "cves", len(cves), "advisories", len(advisories), "reason", why)
	e.reportProgress(ctx, 0, len(names), startedAt, false, nil)
	tuples, _ := e.s.(tupleFinder)
	next := 0
	// The hosts were picked because a KEV entry of their findings changed:
	// nearly all change, so the workers do not ask which do not (the write
	// still skips what is stored already).
	stats, err := e.evaluatePages(ctx, pass{c: c, shared: true, total: len(names), log: log, started: started, startedAt: startedAt, tuples: tupleStoreOf(tuples),
		next: func(ctx context.Context, reuse []store.HostTuples) ([]store.HostTuples, error) {
			// An empty page ends the pass: go on past chunks whose hosts
			// were all removed meanwhile.
			for next < len(names) {
				chunk := names[next:min(next+e.chunk, len(names))]
				next += len(chunk)
				page, err := e.namedHosts(ctx, tuples, chunk, reuse)
				if err != nil || len(page) > 0 {
					return page, err
				}
			}
			return reuse[:0], nil
		}})
	done = stats.hosts
	if err != nil {
		return len(names), err
	}
	log.Info("re-evaluation finished", "hosts", done, "hosts_changed", stats.changed, "duration", time.Since(started).Round(time.Millisecond),
		"packages", stats.packages, "packages_read", stats.read)
	return len(names), nil
}

// tupleStoreOf returns f as a tupleStore, nil when f is.
func tupleStoreOf(f tupleFinder) tupleStore {
	if f == nil {
		return nil
	}
	return f
}

// namedHosts reads the named hosts (those still stored): as tuple IDs
// from tuples when not nil, else whole.
func (e *Service) namedHosts(ctx context.Context, tuples tupleFinder, names []string, reuse []store.HostTuples) ([]store.HostTuples, error) {
	if tuples != nil {
		return tuples.HostTuplesNamed(ctx, names)
	}
	out := reuse[:0]
	for _, name := range names {
		h, err := e.s.Host(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, store.HostTuples{Host: h})
	}
	return out, nil
}
