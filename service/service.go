// Package service is patchwatch's application layer: it matches hosts
// against the stored advisories, keeps finding records in step, and
// answers the queries the CLI and the HTTP API share.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/store"
)

// Service matches hosts against the stored advisories and keeps their
// finding records in step: the one place where findings are computed.
// Queries read the stored findings and host records, never re-matching.
type Service struct {
	s     Storage
	rules patchwatch.UrgencyRules
	clock func() time.Time
	log   *slog.Logger
	// evaluating serialises full re-evaluations.
	evaluating sync.Mutex
	// taught remembers which inventories already fed the binary map.
	taught taughtInventories
	// catalog is every advisory indexed, with the tuple verdicts judged
	// against it, while the advisories stay as they are.
	catalog catalog
	// progress is the full re-evaluation's, for feeds and the metrics.
	progress progress
	// chunk is how many hosts a fleet job takes at a time
	// (evaluationChunk; tests take fewer, to run many chunks).
	chunk int
}

// New returns a Service over s; clock nil means time.Now.
func New(s Storage, rules patchwatch.UrgencyRules, clock func() time.Time) *Service {
	if clock == nil {
		clock = time.Now
	}
	return &Service{s: s, rules: rules, clock: clock, log: slog.New(slog.DiscardHandler), chunk: evaluationChunk}
}

// SetLogger sets where the service logs the progress of long jobs.
func (e *Service) SetLogger(log *slog.Logger) { e.log = log }

// Rules returns the urgency rules in force.
func (e *Service) Rules() patchwatch.UrgencyRules { return e.rules }

func (e *Service) now() time.Time { return e.clock() }

// Findings matches one host against the advisories that name any of its
// packages and gives each finding its severity refinements and urgency.
// The advisories are the service's catalog of all of them, with the
// verdicts of the tuples already judged, when it is current and the host
// has no binary-only package; otherwise those the store's fix index names.
func (e *Service) Findings(ctx context.Context, h *patchwatch.Host) ([]patchwatch.Finding, error) {
	return e.findings(ctx, h, true)
}

// findings is Findings; build false never builds the catalog (a job
// re-matching a few hosts after a change of advisories does not pay for
// indexing them all).
func (e *Service) findings(ctx context.Context, h *patchwatch.Host, build bool) ([]patchwatch.Finding, error) {
	if !binaryOnly(h) {
		c, err := e.current(ctx, build)
		if err != nil {
			return nil, err
		}
		if c != nil {
			return e.matchCataloged(ctx, h, c)
		}
	}
	names := matcher.LookupNames(h)
	learnt, names, err := e.binarySources(ctx, h, names)
	if err != nil {
		return nil, err
	}
	var advisories []patchwatch.Advisory
	seen := map[string]bool{}
	for _, release := range matcher.HostReleases(h) {
		found, err := e.s.AdvisoriesFor(ctx, release, names)
		if err != nil {
			return nil, fmt.Errorf("find advisories for %s: %w", h.Name, err)
		}
		// An advisory that fixes both a rebuild and Red Hat is found under
		// each release: index it once, or its packages would be listed twice.
		for _, a := range found {
			if !seen[a.ID] {
				seen[a.ID] = true
				advisories = append(advisories, a)
			}
		}
	}
	ix := matcher.NewIndex(advisories)
	for release, sources := range learnt {
		ix.AddBinarySources(release, sources)
	}
	if own, err := e.s.HasRelease(ctx, h.Release); err != nil {
		return nil, err
	} else if own {
		ix.MarkRelease(h.Release)
	}
	return e.enrich(ctx, h, ix.Match(h), newFacts(e.s))
}

// facts caches the KEV entries and tracker urgencies that refine findings,
// so that a job over many hosts looks each up once.
type facts struct {
	s         AdvisorySource
	kev       map[string]patchwatch.KEVEntry
	kevLoaded map[string]bool
	// advisoryKEV holds, by advisory, the KEV entries of its CVEs: the
	// same advisory is found on many hosts, and a kernel notice names
	// hundreds of CVEs.
	advisoryKEV map[string][]patchwatch.KEVEntry
	urgencies   map[[2]string]map[string]string
}

func newFacts(s AdvisorySource) *facts {
	return &facts{s: s, kev: map[string]patchwatch.KEVEntry{}, kevLoaded: map[string]bool{},
		advisoryKEV: map[string][]patchwatch.KEVEntry{}, urgencies: map[[2]string]map[string]string{}}
}

// enrich gives matched findings their KEV entries, tracker severity and
// urgency at now.
func (e *Service) enrich(ctx context.Context, h *patchwatch.Host, findings []patchwatch.Finding, fc *facts) ([]patchwatch.Finding, error) {
	var missing []string
	for i := range findings {
		f := &findings[i]
		if _, ok := fc.advisoryKEV[f.Advisory]; ok {
			continue
		}
		for _, cve := range f.CVEs {
			if !fc.kevLoaded[cve] {
				fc.kevLoaded[cve] = true
				missing = append(missing, cve)
			}
		}
	}
	if len(missing) > 0 {
		found, err := fc.s.KEV(ctx, missing)
		if err != nil {
			return nil, err
		}
		maps.Copy(fc.kev, found)
	}
	kevOf := func(f *patchwatch.Finding) []patchwatch.KEVEntry {
		entries, ok := fc.advisoryKEV[f.Advisory]
		if !ok {
			for _, cve := range f.CVEs {
				if entry, ok := fc.kev[cve]; ok {
					entries = append(entries, entry)
				}
			}
			// Shared by every finding of the advisory: nothing changes
			// a finding's KEV list in place.
			entries = slices.Clip(entries)
			fc.advisoryKEV[f.Advisory] = entries
		}
		return entries
	}
	var lookupErr error
	urgency := func(release, pkg, cve string) string {
		key := [2]string{release, pkg}
		byCVE, ok := fc.urgencies[key]
		if !ok {
			var err error
			if byCVE, err = fc.s.Urgencies(ctx, release, pkg); err != nil {
				lookupErr = err
			}
			fc.urgencies[key] = byCVE
		}
		return byCVE[cve]
	}
	matcher.Enrich(h, findings, matcher.Context{KEV: fc.kev, KEVOf: kevOf, Urgency: urgency, Rules: e.rules, Now: e.now()})
	return findings, lookupErr
}

// PutHost stores a host's new inventory, indexed by its packages, and the
// change in its findings, in one durable transaction (batched with
// concurrent reports), and returns the events of the change.
func (e *Service) PutHost(ctx context.Context, h patchwatch.Host) ([]patchwatch.Event, error) {
	index := packageIndex(&h)
	var findings []patchwatch.Finding
	var events []patchwatch.Event
	var err error
	rp, prepares := e.s.(reportPreparer)
	var c *catalogState
	if prepares && !binaryOnly(&h) {
		if c, err = e.current(ctx, true); err != nil {
			return nil, err
		}
	}
	if c != nil {
		// The store looks the report's tuples up once: for the matching,
		// which leaves out what the verdict memo knows adds nothing, and
		// for the write.
		var ids []uint32
		var prepared any
		if ids, prepared, err = rp.PrepareReport(ctx, &h, index); err != nil {
			return nil, err
		}
		if findings, err = e.matchReport(ctx, &h, ids, c); err != nil {
			return nil, err
		}
		events, err = rp.ApplyPreparedReport(ctx, h, index, prepared, findings, rebootRequired(&h, findings), e.now())
	} else {
		if findings, err = e.Findings(ctx, &h); err != nil {
			return nil, err
		}
		events, err = e.s.ApplyReport(ctx, h, index, findings, rebootRequired(&h, findings), e.now())
	}
	if err != nil {
		return nil, err
	}
	return events, e.learnBinarySources(ctx, &h)
}

// reportPreparer is implemented by stores that look a report's package
// tuples up ahead of its write (the IDs of those already stored, 0 for
// the others) and reuse the lookup when they store it.
type reportPreparer interface {
	PrepareReport(ctx context.Context, h *patchwatch.Host, index []store.ReleasePackage) (ids []uint32, prepared any, err error)
	ApplyPreparedReport(ctx context.Context, h patchwatch.Host, index []store.ReleasePackage, prepared any, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error)
}

// matchReport is matchCataloged of a report whose tuple IDs are known,
// as the full re-evaluation matches a stored host: the packages the
// verdict memo knows add nothing are left out (a new tuple, ID 0, never
// is), and the rest are matched by ID.
func (e *Service) matchReport(ctx context.Context, h *patchwatch.Host, ids []uint32, c *catalogState) ([]patchwatch.Finding, error) {
	if len(ids) != len(h.Packages) {
		return e.matchCataloged(ctx, h, c)
	}
	part := *h
	part.Packages = make([]patchwatch.Package, 0, 64)
	kept := make([]uint32, 0, 64)
	view := c.index.View(h, c.verdicts)
	for i, id := range ids {
		if id != 0 && view.Skippable(id) {
			continue
		}
		part.Packages = append(part.Packages, h.Packages[i])
		kept = append(kept, id)
	}
	view.Close()
	part.PackageCount = len(h.Packages)
	return e.enrich(ctx, &part, c.index.MatchTuples(&part, kept, c.verdicts), newFacts(e.s))
}

// packageIndex returns the (release, package name) pairs under which a
// new advisory must find h: every name Match looks up, on every release
// whose advisories concern it.
func packageIndex(h *patchwatch.Host) []store.ReleasePackage {
	names := matcher.LookupNamesUnsorted(h)
	releases := matcher.HostReleases(h)
	index := make([]store.ReleasePackage, 0, len(names)*len(releases))
	for _, release := range releases {
		for _, name := range names {
			index = append(index, store.ReleasePackage{Release: release, Package: name})
		}
	}
	return index
}

func rebootRequired(h *patchwatch.Host, findings []patchwatch.Finding) bool {
	if h.RebootRequired {
		return true
	}
	for _, f := range findings {
		if f.Status == patchwatch.StatusPendingReboot {
			return true
		}
	}
	return false
}

// Sync re-evaluates one host and stores the change in its findings.
func (e *Service) Sync(ctx context.Context, h *patchwatch.Host) ([]patchwatch.Event, error) {
	findings, err := e.Findings(ctx, h)
	if err != nil {
		return nil, err
	}
	return e.s.SyncFindings(ctx, *h, findings, rebootRequired(h, findings), e.now())
}

// SyncHosts re-evaluates the named hosts, or every host when names is nil
// (a full re-evaluation, see Reevaluate).
func (e *Service) SyncHosts(ctx context.Context, names []string) error {
	if names == nil {
		return e.Reevaluate(ctx, "")
	}
	for _, n := range names {
		h, err := e.s.Host(ctx, n)
		if err != nil {
			return err
		}
		if _, err := e.Sync(ctx, &h); err != nil {
			return fmt.Errorf("re-evaluate %s: %w", h.Name, err)
		}
	}
	return nil
}

// Outstanding returns a host's stored findings with their life-cycle data
// (first seen, deadline, overdue), their urgency at now and the active
// silence that covers each, if any, most urgent first. It reads what the
// last evaluation stored for h.Name; it does not match.
func (e *Service) Outstanding(ctx context.Context, h *patchwatch.Host) ([]patchwatch.Finding, error) {
	rec, err := e.s.HostRecord(ctx, h.Name)
	if errors.Is(err, store.ErrNotFound) {
		return []patchwatch.Finding{}, nil
	}
	if err != nil {
		return nil, err
	}
	return e.OutstandingOf(ctx, &rec)
}

// OutstandingOf is Outstanding given the host's stored record, for a
// caller that has read it already (the notifier, for every host of an
// alert).
func (e *Service) OutstandingOf(ctx context.Context, rec *patchwatch.HostRecord) ([]patchwatch.Finding, error) {
	findings, err := e.s.HostFindings(ctx, rec.Name)
	if err != nil {
		return nil, err
	}
	v, err := e.newView(ctx)
	if err != nil {
		return nil, err
	}
	briefs := make(map[string]*patchwatch.FindingBrief, len(rec.Findings))
	for i := range rec.Findings {
		briefs[rec.Findings[i].Advisory] = &rec.Findings[i]
	}
	for i := range findings {
		v.decorate(&findings[i], briefs[findings[i].Advisory], rec.Owner, rec.Checks)
	}
	matcher.SortFindings(findings)
	return findings, nil
}

// Checks returns a host's security-guideline check results with the
// silences that disable them.
func (e *Service) Checks(ctx context.Context, h *patchwatch.Host) ([]patchwatch.HostCheck, error) {
	silences, err := e.s.Silences(ctx)
	if err != nil {
		return nil, err
	}
	return patchwatch.HostChecks(h, silences, e.now()), nil
}

// Advisory returns one stored advisory; the error wraps store.ErrNotFound
// when it is unknown.
func (e *Service) Advisory(ctx context.Context, id string) (patchwatch.Advisory, error) {
	return e.s.Advisory(ctx, id)
}

// HostRecord returns one host's stored summary without its inventory; the
// error wraps store.ErrNotFound when it is unknown.
func (e *Service) HostRecord(ctx context.Context, name string) (patchwatch.HostRecord, error) {
	return e.s.HostRecord(ctx, name)
}

// Host returns one stored host; the error wraps store.ErrNotFound when it
// is unknown.
func (e *Service) Host(ctx context.Context, name string) (patchwatch.Host, error) {
	return e.s.Host(ctx, name)
}

// FleetCounts is the fleet in numbers, for the metrics.
type FleetCounts struct {
	Hosts int
	// Open counts open findings by urgency.
	Open map[patchwatch.Urgency]int
	// FailingChecks counts, per check, the hosts that fail it and have no
	// silence disabling it.
	FailingChecks map[string]int
	// Stale counts the hosts whose last report is older than the
	// staleAfter given to CountsStale.
	Stale int
	// JudgedChecks counts, per check, the hosts whose result is a verdict:
	// pass, fail or disabled, not unknown (the compliance ratio's base).
	JudgedChecks map[string]int
	// Reevaluation is the full re-evaluation's progress in this process.
	Reevaluation Reevaluation
}

// Counts returns the fleet's numbers for the metrics, from the host
// records: open findings by their urgency at the last evaluation.
func (e *Service) Counts(ctx context.Context) (FleetCounts, error) {
	return e.CountsStale(ctx, 0)
}

// CountsStale is Counts that also counts the hosts that have not reported
// for longer than staleAfter (none when it is 0).
func (e *Service) CountsStale(ctx context.Context, staleAfter time.Duration) (FleetCounts, error) {
	silences, err := e.s.Silences(ctx)
	if err != nil {
		return FleetCounts{}, err
	}
	c := FleetCounts{Open: map[patchwatch.Urgency]int{}, FailingChecks: map[string]int{}, JudgedChecks: map[string]int{}, Reevaluation: e.Reevaluation()}
	now := e.now()
	err = e.s.EachHostRecord(ctx, "", "", func(r *patchwatch.HostRecord) error {
		c.Hosts++
		for i := range r.Findings {
			c.Open[r.Findings[i].Urgency]++
		}
		if staleAfter > 0 && now.Sub(r.ReportedAt) > staleAfter {
			c.Stale++
		}
		if len(r.Checks) > 0 {
			h := patchwatch.Host{Name: r.Name, Owner: r.Owner, Checks: r.Checks}
			checks := patchwatch.HostChecks(&h, silences, now)
			for _, id := range patchwatch.FailingChecks(checks) {
				c.FailingChecks[id]++
			}
			for _, hc := range checks {
				if hc.Status != patchwatch.CheckUnknown || hc.Silenced != nil {
					c.JudgedChecks[hc.ID]++
				}
			}
		}
		return nil
	})
	return c, err
}
