package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/batchgc"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/store"
)

// evaluationChunk is how many hosts one step of a fleet job reads, matches
// and commits in one write transaction: big enough to amortise the commit,
// small enough that intake and queries interleave with the job and that
// memory holds only this many inventories.
const evaluationChunk = 256

// Rematch re-evaluates, for a set of new or changed advisories, the hosts
// they may concern: those indexed under a package the advisories fix and
// those with an open finding of one of them (a fix that moved away). Only
// the changed advisories are matched; each host's other stored findings
// are kept (their urgency re-assessed at now), so the result equals a full
// match of the host. It returns the number of hosts re-evaluated.
func (e *Service) Rematch(ctx context.Context, changed []patchwatch.Advisory) (int, error) {
	if len(changed) == 0 {
		return 0, nil
	}
	e.evaluating.Lock()
	defer e.evaluating.Unlock()
	if why, err := e.s.EvaluationPending(ctx); err != nil {
		return 0, err
	} else if why != "" {
		// The stored findings are not complete yet: only a whole pass
		// makes them so.
		n, err := e.s.CountHosts(ctx)
		if err != nil {
			return 0, err
		}
		return n, e.reevaluate(ctx, why)
	}
	// Matched as stored: normalized, so that findings list packages in the
	// order a whole match gives.
	changed = slices.Clone(changed)
	for i := range changed {
		changed[i].Fixes = slices.Clone(changed[i].Fixes)
		changed[i].Normalize()
	}
	// A store that interns tuples names the tuples the changed advisories
	// may concern (one scan of the distinct tuples, beside the search for
	// candidates): of each candidate only those are read.
	finder, _ := e.s.(tupleFinder)
	type scan struct {
		concerned tupleSet
		err       error
	}
	scanned := make(chan scan, 1)
	if finder != nil {
		go func() {
			bits, last, err := finder.TupleIDs(ctx, matcher.NewIndex(changed).MayConcern)
			scanned <- scan{tupleSet{bits, last}, err}
		}()
	} else {
		scanned <- scan{}
	}
	// The scan is waited for on every return.
	var concerned tupleSet
	waitScan := sync.OnceValue(func() error {
		r := <-scanned
		concerned = r.concerned
		return r.err
	})
	defer waitScan()
	var pairs []store.ReleasePackage
	ids := make(map[string]bool, len(changed))
	for _, a := range changed {
		ids[a.ID] = true
		for _, f := range a.Fixes {
			pairs = append(pairs, store.ReleasePackage{Release: f.Release, Package: f.Package})
		}
	}
	candidates := map[string]bool{}
	if len(pairs) > 0 {
		// Binary-only hosts are indexed under their binaries' names.
		pairs, err := e.withBinaries(ctx, changed, pairs)
		if err != nil {
			return 0, err
		}
		names, err := e.s.HostsWithPackages(ctx, pairs)
		if err != nil {
			return 0, err
		}
		for _, n := range names {
			candidates[n] = true
		}
	}
	withOpen, err := e.s.HostsWithAdvisories(ctx, slices.Collect(maps.Keys(ids)))
	if err != nil {
		return 0, err
	}
	for _, n := range withOpen {
		candidates[n] = true
	}
	// A rebuild (AlmaLinux, Rocky) is matched against Red Hat's advisories
	// until its own first arrive, and again once its last are gone: when
	// that flips, every host of the rebuild is matched whole.
	releases, err := e.s.Releases(ctx)
	if err != nil {
		return 0, err
	}
	flipped, everyRebuild, err := e.flippedRebuilds(ctx, releases)
	if err != nil {
		return 0, err
	}
	if len(flipped) > 0 || everyRebuild {
		err := e.s.EachHostRecord(ctx, "", "", func(r *patchwatch.HostRecord) error {
			if flipped[r.Release] || everyRebuild && isRebuild(r.Family, r.Release) {
				candidates[r.Name] = true
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	if len(candidates) == 0 {
		return 0, e.s.SetEvaluatedReleases(ctx, releases)
	}
	// Each worker matches with its own index of the changed advisories
	// (matching marks releases and adds learnt sources to it) and caches.
	workers := runtime.GOMAXPROCS(0)
	type worker struct {
		ix         *matcher.Index
		fc         *facts
		ownRelease map[string]bool
	}
	ws := make([]worker, workers)
	for i := range ws {
		ws[i] = worker{ix: matcher.NewIndex(changed), fc: newFacts(e.s), ownRelease: map[string]bool{}}
	}
	if err := waitScan(); err != nil {
		return 0, err
	}
	names := sortedKeys(candidates)
	preparer, _ := e.s.(evaluationPreparer)
	// Chunks are matched while the previous one commits.
	writes := make(chan []store.Evaluation)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		for batch := range writes {
			if err := e.s.SyncBatch(gctx, batch, e.now()); err != nil {
				return err
			}
		}
		return nil
	})
	g.Go(func() error {
		defer close(writes)
		for start := 0; start < len(names); start += e.chunk {
			chunk := names[start:min(start+e.chunk, len(names))]
			var stored []store.HostTuples
			if finder != nil {
				var err error
				if stored, err = finder.HostTuplesNamed(gctx, chunk); err != nil {
					return err
				}
			}
			n := len(chunk)
			if finder != nil {
				n = len(stored)
			}
			batch := make([]store.Evaluation, n)
			found := make([]bool, n)
			var mg errgroup.Group
			for w := range ws {
				mg.Go(func() error {
					for i := w; i < n; i += workers {
						var h patchwatch.Host
						var err error
						if finder != nil {
							h, err = e.concernedPart(gctx, finder, &stored[i], &concerned)
						} else if h, err = e.s.Host(gctx, chunk[i]); errors.Is(err, store.ErrNotFound) {
							continue // removed meanwhile
						}
						if err != nil {
							return err
						}
						findings, err := e.rematchHost(gctx, &h, ws[w].ix, ids, ws[w].ownRelease, ws[w].fc)
						if err != nil {
							return fmt.Errorf("re-evaluate %s: %w", h.Name, err)
						}
						batch[i], found[i] = store.Evaluation{Host: h, Findings: findings, RebootRequired: rebootRequired(&h, findings)}, true
						if preparer != nil {
							if err := preparer.PrepareEvaluations(gctx, batch[i:i+1]); err != nil {
								return err
							}
						}
					}
					return nil
				})
			}
			if err := mg.Wait(); err != nil {
				return err
			}
			kept := batch[:0]
			for i := range batch {
				if found[i] {
					kept = append(kept, batch[i])
				}
			}
			if len(kept) == 0 {
				continue
			}
			select {
			case writes <- kept:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return len(candidates), e.s.SetEvaluatedReleases(ctx, releases)
}

// tupleFinder is implemented by stores that intern package tuples and can
// find the tuples a predicate accepts and read named hosts as tuple IDs.
type tupleFinder interface {
	tupleStore
	TupleIDs(ctx context.Context, keep func(name, source []byte) bool) (accepted []uint64, last uint32, err error)
	HostTuplesNamed(ctx context.Context, names []string) ([]store.HostTuples, error)
}

// tupleSet is the tuples a scan accepted, as a bitmap by ID, and the
// highest ID it saw.
type tupleSet struct {
	bits []uint64
	last uint32
}

// mayHold reports whether the tuple of id may be in the set: accepted by
// the scan, or stored after it (a report that came in meanwhile).
func (t *tupleSet) mayHold(id uint32) bool {
	if id > t.last {
		return true
	}
	w := int(id / 64)
	return w < len(t.bits) && t.bits[w]&(1<<(id%64)) != 0
}

// concernedPart returns a stored host with only the packages of the
// tuples concerned may hold: those matching against the changed
// advisories may read. A rebuild host, which rematchHost matches whole,
// and a host stored without tuple IDs come whole.
func (e *Service) concernedPart(ctx context.Context, finder tupleFinder, ht *store.HostTuples, concerned *tupleSet) (patchwatch.Host, error) {
	h := ht.Host
	if len(ht.IDs) == 0 {
		return h, nil
	}
	ids := ht.IDs
	if !isRebuild(h.Family, h.Release) {
		ids = make([]uint32, 0, 64)
		for _, id := range ht.IDs {
			if concerned.mayHold(id) {
				ids = append(ids, id)
			}
		}
		h.PackageCount = len(ht.IDs)
	}
	var err error
	h.Packages, err = finder.PackageTuples(ctx, ids, nil)
	return h, err
}

// flippedRebuilds returns the rebuild releases that gained their first or
// lost their last advisories since the findings were last brought up to
// date; everyRebuild when that was never recorded (hosts evaluated report
// by report only), as a rebuild may then have lost its last advisories
// unseen.
func (e *Service) flippedRebuilds(ctx context.Context, now []string) (flipped map[string]bool, everyRebuild bool, err error) {
	before, err := e.s.EvaluatedReleases(ctx)
	if err != nil {
		return nil, false, err
	}
	if before == nil {
		return nil, true, nil
	}
	flipped = map[string]bool{}
	for _, r := range now {
		if !slices.Contains(before, r) {
			flipped[r] = true
		}
	}
	for _, r := range before {
		if !slices.Contains(now, r) {
			flipped[r] = true
		}
	}
	for r := range flipped {
		if !isRebuild(patchwatch.ReleaseFamily(r), r) {
			delete(flipped, r)
		}
	}
	return flipped, false, nil
}

// isRebuild reports whether release is a RHEL rebuild (AlmaLinux, Rocky),
// matched against Red Hat's advisories until its own arrive.
func isRebuild(family patchwatch.Family, release string) bool {
	return family == patchwatch.FamilyRPM && patchwatch.RHSARelease(release) != release
}

// rematchHost matches h against the changed advisories in ix and merges
// the result with its stored findings of every other advisory.
func (e *Service) rematchHost(ctx context.Context, h *patchwatch.Host, ix *matcher.Index, changed, ownRelease map[string]bool, fc *facts) ([]patchwatch.Finding, error) {
	if h.Family == patchwatch.FamilyRPM && patchwatch.RHSARelease(h.Release) != h.Release {
		// A rebuild switches from Red Hat's advisories to its own once the
		// first of those arrives: only a whole match of the host decides.
		return e.findings(ctx, h, false)
	}
	own, known := ownRelease[h.Release]
	if !known {
		var err error
		if own, err = e.s.HasRelease(ctx, h.Release); err != nil {
			return nil, err
		}
		ownRelease[h.Release] = own
	}
	if own {
		ix.MarkRelease(h.Release)
	}
	if err := e.addLearntSources(ctx, ix, h); err != nil {
		return nil, err
	}
	fresh, err := e.enrich(ctx, h, ix.Match(h), fc)
	if err != nil {
		return nil, err
	}
	stored, err := e.s.HostFindings(ctx, h.Name)
	if err != nil {
		return nil, err
	}
	now := e.now()
	for _, f := range stored {
		if changed[f.Advisory] {
			continue
		}
		e.rules.AssessFinding(&f, h.Checks, now)
		fresh = append(fresh, f)
	}
	matcher.SortFindings(fresh)
	return fresh, nil
}

// Reevaluate matches every host against every stored advisory again (after
// the first backfill, a KEV update, a change of urgency rules, or the
// migration that introduced stored findings) and stores the changes. It
// walks the fleet in chunks, each read in its own short transaction and
// committed in one write, so intake and queries go on meanwhile; the
// advisories are indexed once for the whole job, and progress is logged.
// why, when not empty, is logged as the reason.
func (e *Service) Reevaluate(ctx context.Context, why string) error {
	e.evaluating.Lock()
	defer e.evaluating.Unlock()
	return e.reevaluate(ctx, why)
}

func (e *Service) reevaluate(ctx context.Context, why string) (err error) {
	// A pass allocates a dozen times its live heap: collecting less often
	// saves a tenth to a third of its CPU, for ~1 GB more peak memory at
	// 100,000 hosts.
	defer batchgc.Begin()()
	started, startedAt := time.Now(), e.now()
	done, total := 0, 0
	defer func() { e.reportProgress(ctx, done, total, startedAt, true, err) }()
	// The index is rebuilt only after the migration that dropped it.
	reindex := why == store.PendingReindex
	if pending, err := e.s.EvaluationPending(ctx); err != nil {
		return err
	} else if pending == store.PendingReindex {
		reindex = true
	}
	// With a store that counts its advisory writes, the job matches
	// against the catalog (the one intake uses, built now if the
	// advisories changed since), which it leaves warm for intake; the
	// binary-only hosts are matched as a report is, against their own
	// advisories and the binary map. Otherwise it indexes every advisory
	// for itself.
	c, err := e.fullCatalog(ctx)
	if err != nil {
		return err
	}
	shared := c != nil
	releases, err := e.s.Releases(ctx)
	if err != nil {
		return err
	}
	if c == nil {
		var advisories []patchwatch.Advisory
		if err := e.s.EachAdvisory(ctx, func(a patchwatch.Advisory) error {
			advisories = append(advisories, a)
			return nil
		}); err != nil {
			return fmt.Errorf("load advisories: %w", err)
		}
		// The whole index marks every release that has advisories, as
		// HasRelease would for each host. Each distinct package tuple is
		// judged once, by whichever host has it first; every other host
		// holding it reuses the verdict.
		ix := matcher.NewIndex(advisories)
		c = &catalogState{index: ix, verdicts: ix.NewVerdicts(0)}
	}
	ix, verdicts := c.index, c.verdicts
	if total, err = e.s.CountHosts(ctx); err != nil {
		return err
	}
	log := e.log.With("job", "re-evaluation")
	log.Info("full re-evaluation started", "hosts", total, "advisories", ix.Len(), "reason", why)
	e.reportProgress(ctx, 0, total, startedAt, false, nil)
	// A store that interns package tuples gives each host as tuple IDs:
	// the packages whose verdict is known to add nothing are never read.
	tuples, _ := e.s.(tupleStore)
	if !shared || reindex {
		tuples = nil
	}
	after := ""
	stats, err := e.evaluatePages(ctx, pass{c: c, shared: shared, reindex: reindex, compare: true, tuples: tuples, total: total, log: log, started: started, startedAt: startedAt,
		next: func(ctx context.Context, reuse []store.HostTuples) ([]store.HostTuples, error) {
			hosts, err := e.pageAfter(ctx, tuples, after, reuse)
			if len(hosts) > 0 {
				after = hosts[len(hosts)-1].Host.Name
			}
			return hosts, err
		}})
	done = stats.hosts
	if err != nil {
		return err
	}
	if err := e.s.SetEvaluationPending(ctx, ""); err != nil {
		return err
	}
	if err := e.s.SetEvaluatedReleases(ctx, releases); err != nil {
		return err
	}
	if err := e.s.SetEvaluatedRules(ctx, e.rulesFingerprint()); err != nil {
		return err
	}
	log.Info("full re-evaluation finished", "hosts", done, "hosts_changed", stats.changed, "duration", time.Since(started).Round(time.Millisecond),
		"tuples_judged", verdicts.Len(), "packages", stats.packages, "packages_read", stats.read)
	return nil
}

// evaluationComparer is implemented by stores that can tell, in a read,
// which evaluations would change nothing stored: the full re-evaluation's
// workers ask it, and its one writer commits only the others.
type evaluationComparer interface {
	Unchanged(ctx context.Context, batch []store.Evaluation) ([]bool, error)
}

// evaluationPreparer is implemented by stores that can do part of a
// write's work ahead, in the workers (Evaluation.Prepared); a comparer's
// Unchanged prepares the evaluations that changed.
type evaluationPreparer interface {
	PrepareEvaluations(ctx context.Context, batch []store.Evaluation) error
}

// pass is one run of the evaluation pipeline: pages of stored hosts (next
// returns the next, empty at the end) matched against c.
type pass struct {
	c               *catalogState
	shared, reindex bool
	// compare has the workers ask the store which evaluations change
	// nothing (a pass over hosts picked because they changed skips it).
	compare bool
	tuples  tupleStore
	next    func(ctx context.Context, reuse []store.HostTuples) ([]store.HostTuples, error)
	total   int
	log     *slog.Logger
	// started is the wall clock (for durations), startedAt the service's.
	started, startedAt time.Time
}

// passStats is what a pass did.
type passStats struct {
	hosts, changed int
	read, packages int64
}

// evaluatePages runs a pass: pages are read one ahead, each page's hosts
// matched on every core, each worker asking the store which of its
// evaluations change nothing, and the changed ones committed by one writer
// while the next page is matched. Progress is logged and reported.
func (e *Service) evaluatePages(ctx context.Context, p pass) (passStats, error) {
	c, shared, reindex, tuples, total, log := p.c, p.shared, p.reindex, p.tuples, p.total, p.log
	started, startedAt := p.started, p.startedAt
	ix := c.index
	var stats passStats
	done := 0
	workers := runtime.GOMAXPROCS(0)
	caches := make([]*facts, workers)
	for i := range caches {
		caches[i] = newFacts(e.s)
	}
	// Chunks are matched while the previous one commits.
	comparer, _ := e.s.(evaluationComparer)
	if !p.compare {
		comparer = nil
	}
	preparer, _ := e.s.(evaluationPreparer)
	// Chunks queue for the writer, so that the workers go on matching
	// while it commits; those that queued meanwhile are committed
	// together (a write that adds many findings, as the first evaluation
	// does, rewrites the advisory index's pages at every commit).
	writes := make(chan chunkWrite, writeQueue)
	var read, packages, written atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		lastLog := time.Now()
		for w := range writes {
			w = gatherWrites(w, writes)
			written.Add(int64(len(w.changed)))
			if len(w.changed) > 0 {
				if err := e.s.SyncBatch(gctx, w.changed, e.now()); err != nil {
					return err
				}
			}
			done += w.hosts
			e.setProgress(done, max(total, done), startedAt, false)
			if time.Since(lastLog) > 10*time.Second {
				lastLog = time.Now()
				log.Info("full re-evaluation progress", "hosts_done", done, "hosts", total, "elapsed", time.Since(started).Round(time.Second))
				e.reportProgress(gctx, done, max(total, done), startedAt, false, nil)
			}
		}
		return nil
	})
	// Pages are read one ahead of the matching, into buffers in turn: the
	// one read next was last used by a chunk the writer has finished (one
	// page is read, one matched, writeQueue wait for the writer, which
	// writes up to writeQueue+1; sending a chunk to the writer waits while
	// the queue is full).
	pages := make(chan []store.HostTuples)
	g.Go(func() error {
		defer close(pages)
		var bufs [2*writeQueue + 3][]store.HostTuples
		for n := 0; ; n++ {
			hosts, err := p.next(gctx, bufs[n%len(bufs)])
			if err != nil {
				return err
			}
			bufs[n%len(bufs)] = hosts
			if len(hosts) == 0 {
				return nil
			}
			select {
			case pages <- hosts:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
	})
	g.Go(func() error {
		defer close(writes)
		for hosts := range pages {
			if !shared { // the catalog is never changed
				for i := range hosts {
					if err := e.addLearntSources(gctx, ix, &hosts[i].Host); err != nil {
						return err
					}
				}
			}
			batch := make([]store.Evaluation, len(hosts))
			unchanged := make([]bool, len(hosts))
			var mg errgroup.Group
			for w := range workers {
				mg.Go(func() error {
					var mine []int
					for i := w; i < len(hosts); i += workers {
						mine = append(mine, i)
						ev, err := e.evaluateStored(gctx, tuples, &hosts[i], c, shared, caches[w])
						if err != nil {
							return fmt.Errorf("re-evaluate %s: %w", hosts[i].Host.Name, err)
						}
						read.Add(int64(len(ev.Host.Packages)))
						packages.Add(int64(max(ev.Host.PackageCount, len(ev.Host.Packages))))
						if reindex {
							// The migration to schema 6 rebuilds the index here.
							ev.Index = packageIndex(&ev.Host)
						}
						batch[i] = ev
					}
					if comparer == nil && preparer == nil {
						return nil
					}
					evs := make([]store.Evaluation, len(mine))
					for k, i := range mine {
						evs[k] = batch[i]
					}
					if comparer == nil {
						if err := preparer.PrepareEvaluations(gctx, evs); err != nil {
							return err
						}
					} else {
						same, err := comparer.Unchanged(gctx, evs)
						if err != nil {
							return err
						}
						for k := range mine {
							unchanged[mine[k]] = same[k]
						}
					}
					for k, i := range mine {
						batch[i].Prepared = evs[k].Prepared
					}
					return nil
				})
			}
			if err := mg.Wait(); err != nil {
				return err
			}
			changed := batch[:0]
			for i := range batch {
				if !unchanged[i] {
					changed = append(changed, batch[i])
				}
			}
			select {
			case writes <- chunkWrite{changed: changed, hosts: len(hosts)}:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	err := g.Wait()
	stats.hosts, stats.changed, stats.read, stats.packages = done, int(written.Load()), read.Load(), packages.Load()
	return stats, err
}

// writeQueue is how many matched chunks may wait for a pass's writer;
// it commits those waiting in one transaction. Eight rather than three
// halves a first evaluation's commits, each two fdatasyncs and a rewrite
// of the touched branch pages (9.6 and 10.4 s against 12.5 and 11.0 s at
// 100,000 hosts, alternating), for ~150 MB more peak memory.
const writeQueue = 8

// chunkWrite is a matched chunk for a pass's writer: the evaluations that
// changed, of hosts hosts.
type chunkWrite struct {
	changed []store.Evaluation
	hosts   int
}

// gatherWrites adds to w the chunks already waiting in writes.
func gatherWrites(w chunkWrite, writes <-chan chunkWrite) chunkWrite {
	merged := false
	for {
		select {
		case next, ok := <-writes:
			if !ok {
				return w
			}
			if !merged {
				// w.changed shares its array with its page's batch.
				w.changed, merged = slices.Clone(w.changed), true
			}
			w.changed = append(w.changed, next.changed...)
			w.hosts += next.hosts
		default:
			return w
		}
	}
}

// tupleStore is implemented by stores that intern package tuples and can
// give a page of hosts as tuple IDs, reading only the tuples asked for.
type tupleStore interface {
	HostTuplesAfter(ctx context.Context, after string, limit int, reuse []store.HostTuples) ([]store.HostTuples, error)
	PackageTuples(ctx context.Context, ids []uint32, into []patchwatch.Package) ([]patchwatch.Package, error)
}

// pageAfter reads the job's next page of hosts into reuse: as tuple IDs
// from tuples when not nil, else whole.
func (e *Service) pageAfter(ctx context.Context, tuples tupleStore, after string, reuse []store.HostTuples) ([]store.HostTuples, error) {
	if tuples != nil {
		return tuples.HostTuplesAfter(ctx, after, e.chunk, reuse)
	}
	whole := make([]patchwatch.Host, len(reuse))
	for i := range reuse {
		whole[i].Packages = reuse[i].Host.Packages
	}
	hosts, err := e.hostsAfter(ctx, after, whole)
	if err != nil {
		return nil, err
	}
	out := reuse[:0]
	for i := range hosts {
		out = append(out, store.HostTuples{Host: hosts[i]})
	}
	return out, nil
}

// evaluateStored matches one stored host for the full re-evaluation,
// against the catalog c (shared) or, when the store does not count its
// advisory writes, the job's own index of every advisory. A host given as
// tuple IDs is read only in part: the packages its catalog view calls
// skippable are left out, which changes no finding.
func (e *Service) evaluateStored(ctx context.Context, tuples tupleStore, ht *store.HostTuples, c *catalogState, shared bool, fc *facts) (store.Evaluation, error) {
	h := ht.Host
	var findings []patchwatch.Finding
	var err error
	switch {
	case len(ht.IDs) > 0:
		view := c.index.View(&h, c.verdicts)
		kept := view.Keep(ht.IDs, make([]uint32, 0, 64))
		view.Close()
		if h.Packages, err = tuples.PackageTuples(ctx, kept, nil); err != nil {
			return store.Evaluation{}, err
		}
		h.PackageCount = len(ht.IDs)
		if !binaryOnly(&h) {
			findings, err = e.enrich(ctx, &h, c.index.MatchTuples(&h, kept, c.verdicts), fc)
			break
		}
		// Every package without source information is kept, so h is
		// binary-only exactly when the whole host is: it is matched as a
		// report is, through the binary map, whole.
		if h.Packages, err = tuples.PackageTuples(ctx, ht.IDs, h.Packages[:0]); err != nil {
			return store.Evaluation{}, err
		}
		h.PackageCount = 0
		findings, err = e.Findings(ctx, &h)
	case shared && binaryOnly(&h):
		findings, err = e.Findings(ctx, &h)
	default:
		findings, err = e.enrich(ctx, &h, c.index.MatchWith(&h, c.verdicts), fc)
	}
	if err != nil {
		return store.Evaluation{}, err
	}
	return store.Evaluation{Host: h, Findings: findings, RebootRequired: rebootRequired(&h, findings)}, nil
}

// pageReuser is implemented by stores that decode a page of hosts into a
// page the caller is done with.
type pageReuser interface {
	HostsAfterReusing(ctx context.Context, after string, limit int, reuse []patchwatch.Host) ([]patchwatch.Host, error)
}

// hostsAfter reads the job's next page of hosts, into the last one when
// the store can.
func (e *Service) hostsAfter(ctx context.Context, after string, done []patchwatch.Host) ([]patchwatch.Host, error) {
	if r, ok := e.s.(pageReuser); ok {
		return r.HostsAfterReusing(ctx, after, e.chunk, done)
	}
	return e.s.HostsAfter(ctx, after, e.chunk)
}

// ReevaluateIfPending runs the full re-evaluation that the database asks
// for (after a schema migration or a bulk load), or that a change of the
// urgency rules since the last evaluation calls for, if any, and reports
// whether it ran.
func (e *Service) ReevaluateIfPending(ctx context.Context) (bool, error) {
	why, err := e.s.EvaluationPending(ctx)
	if err != nil {
		return false, err
	}
	if why == "" {
		stored, err := e.s.EvaluatedRules(ctx)
		if err != nil {
			return false, err
		}
		switch {
		case stored == "":
			// Never recorded (a database from before schema 6 that was
			// evaluated report by report): the rules in force are its own.
			return false, e.s.SetEvaluatedRules(ctx, e.rulesFingerprint())
		case stored != e.rulesFingerprint():
			why = "the urgency rules changed"
		}
	}
	if why == "" {
		return false, nil
	}
	return true, e.Reevaluate(ctx, why)
}

// rulesFingerprint identifies the urgency rules in force.
func (e *Service) rulesFingerprint() string {
	data, _ := json.Marshal(e.rules)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ImportHosts bulk-loads hosts (a backfill, a move between databases) in
// one transaction without evaluating them; a full re-evaluation (Reevaluate,
// or the one serve runs on start) then stores their findings.
func (e *Service) ImportHosts(ctx context.Context, hosts []patchwatch.Host) error {
	entries := make([]store.HostEntry, len(hosts))
	for i := range hosts {
		entries[i] = store.HostEntry{Host: hosts[i], Index: packageIndex(&hosts[i])}
	}
	if err := e.s.PutHosts(ctx, entries); err != nil {
		return err
	}
	// Their inventories teach the binary map as reports do; the binary-only
	// hosts it concerns are matched by the full re-evaluation PutHosts
	// flagged, with every other host.
	for i := range hosts {
		h := &hosts[i]
		if !teaches(h) {
			continue
		}
		digest := e.taught.digest(h)
		if e.taught.seen(digest) {
			continue
		}
		if _, err := e.s.LearnBinarySources(ctx, h); err != nil {
			return err
		}
		e.taught.remember(digest)
	}
	return nil
}
