// Package service is patchwatch's application layer: it matches hosts
// against the stored advisories, keeps finding records in step, and
// answers the queries the CLI and the HTTP API share.
package service

import (
	"context"
	"fmt"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/store"
)

// Service matches hosts against the stored advisories and keeps their
// finding records in step: the one place where findings are computed.
type Service struct {
	s     *store.Store
	rules patchwatch.UrgencyRules
	clock func() time.Time
	// taught remembers which inventories already fed the binary map.
	taught taughtInventories
}

// New returns a Service over s; clock nil means time.Now.
func New(s *store.Store, rules patchwatch.UrgencyRules, clock func() time.Time) *Service {
	if clock == nil {
		clock = time.Now
	}
	return &Service{s: s, rules: rules, clock: clock}
}

// Store returns the store the service works on.
func (e *Service) Store() *store.Store { return e.s }

// Rules returns the urgency rules in force.
func (e *Service) Rules() patchwatch.UrgencyRules { return e.rules }

func (e *Service) now() time.Time { return e.clock() }

// findings matches one host against the advisories that name any of its
// packages (found through the store's fix index) and gives each finding
// its severity refinements and urgency.
func (e *Service) Findings(ctx context.Context, h *patchwatch.Host) ([]patchwatch.Finding, error) {
	names := matcher.LookupNames(h)
	learnt, names, err := e.binarySources(ctx, h, names)
	if err != nil {
		return nil, err
	}
	var advisories []patchwatch.Advisory
	for _, release := range matcher.HostReleases(h) {
		found, err := e.s.AdvisoriesFor(ctx, release, names)
		if err != nil {
			return nil, fmt.Errorf("find advisories for %s: %w", h.Name, err)
		}
		advisories = append(advisories, found...)
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
	findings := ix.Match(h)
	var cves []string
	for _, f := range findings {
		cves = append(cves, f.CVEs...)
	}
	kev, err := e.s.KEV(ctx, cves)
	if err != nil {
		return nil, err
	}
	urgencies := map[string]map[string]string{}
	var lookupErr error
	urgency := func(release, pkg, cve string) string {
		byCVE, ok := urgencies[pkg]
		if !ok {
			byCVE, err = e.s.Urgencies(ctx, release, pkg)
			if err != nil {
				lookupErr = err
			}
			urgencies[pkg] = byCVE
		}
		return byCVE[cve]
	}
	matcher.Enrich(h, findings, matcher.Context{KEV: kev, Urgency: urgency, Rules: e.rules, Now: e.now()})
	return findings, lookupErr
}

// PutHost stores a host's new inventory, indexed by its packages, and the
// change in its findings, in one durable transaction (batched with
// concurrent reports), and returns the events of the change.
func (e *Service) PutHost(ctx context.Context, h patchwatch.Host) ([]patchwatch.Event, error) {
	findings, err := e.Findings(ctx, &h)
	if err != nil {
		return nil, err
	}
	var index []store.ReleasePackage
	names := matcher.LookupNames(&h)
	for _, release := range matcher.HostReleases(&h) {
		for _, name := range names {
			index = append(index, store.ReleasePackage{Release: release, Package: name})
		}
	}
	events, err := e.s.ApplyReport(ctx, h, index, findings, rebootRequired(&h, findings), e.now())
	if err != nil {
		return nil, err
	}
	return events, e.learnBinarySources(ctx, &h)
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

// rematch re-evaluates the hosts a set of changed advisories may concern,
// found through the host index: not a full rescan.
func (e *Service) Rematch(ctx context.Context, changed []patchwatch.Advisory) (int, error) {
	var pairs []store.ReleasePackage
	for _, a := range changed {
		for _, f := range a.Fixes {
			pairs = append(pairs, store.ReleasePackage{Release: f.Release, Package: f.Package})
		}
	}
	if len(pairs) == 0 {
		return 0, nil
	}
	pairs, err := e.withBinaries(ctx, changed, pairs)
	if err != nil {
		return 0, err
	}
	names, err := e.s.HostsWithPackages(ctx, pairs)
	if err != nil {
		return 0, err
	}
	return len(names), e.SyncHosts(ctx, names)
}

// syncHosts re-evaluates the named hosts, or every host when names is nil.
func (e *Service) SyncHosts(ctx context.Context, names []string) error {
	var hosts []patchwatch.Host
	if names == nil {
		var err error
		if hosts, err = e.s.Hosts(ctx); err != nil {
			return err
		}
	} else {
		for _, n := range names {
			h, err := e.s.Host(ctx, n)
			if err != nil {
				return err
			}
			hosts = append(hosts, h)
		}
	}
	for i := range hosts {
		if _, err := e.Sync(ctx, &hosts[i]); err != nil {
			return fmt.Errorf("re-evaluate %s: %w", hosts[i].Name, err)
		}
	}
	return nil
}

// outstanding returns a host's findings with their life-cycle data (first
// seen, deadline, overdue) and the active silence that covers each, if any.
func (e *Service) Outstanding(ctx context.Context, h *patchwatch.Host) ([]patchwatch.Finding, error) {
	findings, err := e.Findings(ctx, h)
	if err != nil {
		return nil, err
	}
	records, err := e.s.FindingRecords(ctx, h.Name)
	if err != nil {
		return nil, err
	}
	firstSeen := map[string]time.Time{}
	for _, r := range records {
		if r.Open() {
			firstSeen[r.Advisory] = r.FirstSeen
		}
	}
	silences, err := e.s.Silences(ctx)
	if err != nil {
		return nil, err
	}
	now := e.now()
	for i := range findings {
		f := &findings[i]
		f.FirstSeen = firstSeen[f.Advisory]
		if f.FirstSeen.IsZero() {
			// Not yet recorded (the host report predates this advisory's
			// import and nothing re-evaluated it): it is new now.
			f.FirstSeen = now
		}
		f.Deadline = e.rules.Deadline(f.Urgency, f.FirstSeen)
		f.Overdue = now.After(f.Deadline)
		for j := range silences {
			if silences[j].Active(now) && silences[j].Matches(f, h.Owner) {
				f.Silenced = &silences[j]
				break
			}
		}
	}
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
}

// Counts returns the fleet's numbers for the metrics.
func (e *Service) Counts(ctx context.Context) (FleetCounts, error) {
	hosts, err := e.s.Hosts(ctx)
	if err != nil {
		return FleetCounts{}, err
	}
	records, err := e.s.FindingRecords(ctx, "")
	if err != nil {
		return FleetCounts{}, err
	}
	silences, err := e.s.Silences(ctx)
	if err != nil {
		return FleetCounts{}, err
	}
	c := FleetCounts{Hosts: len(hosts), Open: map[patchwatch.Urgency]int{}, FailingChecks: map[string]int{}}
	for _, r := range records {
		if r.Open() {
			c.Open[r.Urgency]++
		}
	}
	now := e.now()
	for i := range hosts {
		for _, id := range patchwatch.FailingChecks(patchwatch.HostChecks(&hosts[i], silences, now)) {
			c.FailingChecks[id]++
		}
	}
	return c, nil
}
