package service

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
)

// AdvisoryGenerations is implemented by stores that count their writes of
// advisories. The service then keeps the whole advisory history indexed in
// memory, with the verdict of every distinct package tuple judged against
// it, and a report whose tuples are already judged costs no advisory
// lookup or decoding. Without it every report looks its advisories up.
type AdvisoryGenerations interface {
	// AdvisoryGeneration returns a number that changes with every
	// committed write of advisories (upserts that changed one,
	// withdrawals).
	AdvisoryGeneration(ctx context.Context) (uint64, error)
}

// catalogAfter is how many reports are evaluated by looking their
// advisories up before the service indexes the whole history: a command
// that stores one report does not pay for indexing 50,000 advisories, a
// long-running serve does once per change of the advisories.
const catalogAfter = 32

// catalogRebuildEvery bounds how often reports rebuild a retired catalog:
// while a backfill commits advisories every few seconds, reports look
// their advisories up rather than index the whole history each time.
const catalogRebuildEvery = time.Minute

// catalog is the long-lived matching state: one index of every stored
// advisory at one advisory generation and the tuple verdicts judged
// against it (memory: the decoded advisories with their parsed fixed
// versions, 55 MB of heap measured for the 49,000 advisories of the full
// history, and ≈ 150 bytes per distinct judged tuple, 177,673 of them for
// the 10,000-host benchmark fleet, bounded by matcher.DefaultVerdictLimit).
// A write of advisories, through any path, changes the generation and so
// retires it; a report that notices rebuilds it (at most once per
// catalogRebuildEvery) while the others look their advisories up.
type catalog struct {
	cur      atomic.Pointer[catalogState]
	building sync.Mutex
	// misses counts reports evaluated without a current catalog.
	misses atomic.Int64
	// built is when a catalog was last built (wall clock, Unix ns).
	built atomic.Int64
}

type catalogState struct {
	generation uint64
	index      *matcher.Index
	verdicts   *matcher.Verdicts
}

// current returns the catalog of the store's current advisories, building
// it when due (and build) and no other caller is; nil means look the
// advisories up.
func (e *Service) current(ctx context.Context, build bool) (*catalogState, error) {
	gens, ok := e.s.(AdvisoryGenerations)
	if !ok {
		return nil, nil
	}
	gen, err := gens.AdvisoryGeneration(ctx)
	if err != nil {
		return nil, err
	}
	if c := e.catalog.cur.Load(); c != nil && c.generation == gen {
		return c, nil
	}
	if !build || e.catalog.misses.Add(1) < catalogAfter && e.catalog.cur.Load() == nil ||
		time.Since(time.Unix(0, e.catalog.built.Load())) < catalogRebuildEvery {
		return nil, nil
	}
	if !e.catalog.building.TryLock() {
		return nil, nil
	}
	defer e.catalog.building.Unlock()
	return e.refreshCatalog(ctx, gens, gen)
}

// refreshCatalog returns the catalog if it is of generation gen, else
// builds and keeps a new one. The caller holds catalog.building.
func (e *Service) refreshCatalog(ctx context.Context, gens AdvisoryGenerations, gen uint64) (*catalogState, error) {
	if c := e.catalog.cur.Load(); c != nil && c.generation == gen {
		return c, nil
	}
	c, err := e.buildCatalog(ctx, gens)
	if err != nil {
		return nil, err
	}
	e.catalog.cur.Store(c)
	e.catalog.built.Store(time.Now().UnixNano())
	return c, nil
}

// buildCatalog indexes every stored advisory. The generation is read
// first: advisories written meanwhile make the catalog look older than it
// is, never newer, so it is rebuilt rather than trusted.
func (e *Service) buildCatalog(ctx context.Context, gens AdvisoryGenerations) (*catalogState, error) {
	gen, err := gens.AdvisoryGeneration(ctx)
	if err != nil {
		return nil, err
	}
	var advisories []patchwatch.Advisory
	if err := e.s.EachAdvisory(ctx, func(a patchwatch.Advisory) error {
		advisories = append(advisories, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load advisories: %w", err)
	}
	ix := matcher.NewIndex(advisories)
	return &catalogState{generation: gen, index: ix, verdicts: ix.NewVerdicts(0)}, nil
}

// fullCatalog returns the catalog of the store's current advisories,
// building it (and waiting for a build under way) when it is missing or
// stale; nil when the store does not count its advisory writes.
func (e *Service) fullCatalog(ctx context.Context) (*catalogState, error) {
	gens, ok := e.s.(AdvisoryGenerations)
	if !ok {
		return nil, nil
	}
	e.catalog.building.Lock()
	defer e.catalog.building.Unlock()
	gen, err := gens.AdvisoryGeneration(ctx)
	if err != nil {
		return nil, err
	}
	return e.refreshCatalog(ctx, gens, gen)
}

// matchCataloged matches h against the catalog c, which must hold every
// advisory; h must have no package without source information (those
// are matched through the binary map, which the catalog does not hold).
func (e *Service) matchCataloged(ctx context.Context, h *patchwatch.Host, c *catalogState) ([]patchwatch.Finding, error) {
	return e.enrich(ctx, h, c.index.MatchWith(h, c.verdicts), newFacts(e.s))
}
