package main

import (
	"context"
	"fmt"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/store"
)

// evaluator matches hosts against the stored advisories and keeps their
// finding records in step: the one place where findings are computed.
type evaluator struct {
	s     *store.Store
	rules patchwatch.UrgencyRules
	now   time.Time
}

func newEvaluator(env *Env, s *store.Store, configPath string) (*evaluator, error) {
	rules := config.Default().Urgency
	if configPath != "" {
		cfg, err := config.Load(configPath)
		if err != nil {
			return nil, err
		}
		rules = cfg.Urgency
	}
	return &evaluator{s: s, rules: rules, now: env.now()}, nil
}

// releasesOf returns the releases whose advisories may concern h: its own
// and, for the RHEL rebuilds, Red Hat's.
func releasesOf(h *patchwatch.Host) []string {
	releases := []string{h.Release}
	if rhel := patchwatch.RHSARelease(h.Release); rhel != h.Release {
		releases = append(releases, rhel)
	}
	return releases
}

// findings matches one host against the advisories that name any of its
// packages (found through the store's fix index) and gives each finding
// its severity refinements and urgency.
func (e *evaluator) findings(ctx context.Context, h *patchwatch.Host) ([]patchwatch.Finding, error) {
	names := matcher.LookupNames(h)
	var advisories []patchwatch.Advisory
	for _, release := range releasesOf(h) {
		found, err := e.s.AdvisoriesFor(ctx, release, names)
		if err != nil {
			return nil, fmt.Errorf("find advisories for %s: %w", h.Name, err)
		}
		advisories = append(advisories, found...)
	}
	ix := matcher.NewIndex(advisories)
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
	matcher.Enrich(h, findings, matcher.Context{KEV: kev, Urgency: urgency, Rules: e.rules, Now: e.now})
	return findings, lookupErr
}

// putHost stores a host's new inventory, indexed by its packages, and
// brings its finding records up to date.
func (e *evaluator) putHost(ctx context.Context, h patchwatch.Host) error {
	var index []store.ReleasePackage
	for _, release := range releasesOf(&h) {
		for _, name := range matcher.LookupNames(&h) {
			index = append(index, store.ReleasePackage{Release: release, Package: name})
		}
	}
	if err := e.s.PutHost(ctx, h, index); err != nil {
		return err
	}
	_, err := e.sync(ctx, &h)
	return err
}

// sync re-evaluates one host and stores the change in its findings.
func (e *evaluator) sync(ctx context.Context, h *patchwatch.Host) ([]patchwatch.Event, error) {
	findings, err := e.findings(ctx, h)
	if err != nil {
		return nil, err
	}
	reboot := h.RebootRequired
	for _, f := range findings {
		if f.Status == patchwatch.StatusPendingReboot {
			reboot = true
		}
	}
	return e.s.SyncFindings(ctx, *h, findings, reboot, e.now)
}

// rematch re-evaluates the hosts a set of changed advisories may concern,
// found through the host index: not a full rescan.
func (e *evaluator) rematch(ctx context.Context, changed []patchwatch.Advisory) (int, error) {
	var pairs []store.ReleasePackage
	for _, a := range changed {
		for _, f := range a.Fixes {
			pairs = append(pairs, store.ReleasePackage{Release: f.Release, Package: f.Package})
		}
	}
	if len(pairs) == 0 {
		return 0, nil
	}
	names, err := e.s.HostsWithPackages(ctx, pairs)
	if err != nil {
		return 0, err
	}
	return len(names), e.syncHosts(ctx, names)
}

// syncHosts re-evaluates the named hosts, or every host when names is nil.
func (e *evaluator) syncHosts(ctx context.Context, names []string) error {
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
		if _, err := e.sync(ctx, &hosts[i]); err != nil {
			return fmt.Errorf("re-evaluate %s: %w", hosts[i].Name, err)
		}
	}
	return nil
}

// outstanding returns a host's findings with their life-cycle data (first
// seen, deadline, overdue) and the active silence that covers each, if any.
func (e *evaluator) outstanding(ctx context.Context, h *patchwatch.Host) ([]patchwatch.Finding, error) {
	findings, err := e.findings(ctx, h)
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
	for i := range findings {
		f := &findings[i]
		f.FirstSeen = firstSeen[f.Advisory]
		if f.FirstSeen.IsZero() {
			// Not yet recorded (the host report predates this advisory's
			// import and nothing re-evaluated it): it is new now.
			f.FirstSeen = e.now
		}
		f.Deadline = e.rules.Deadline(f.Urgency, f.FirstSeen)
		f.Overdue = e.now.After(f.Deadline)
		for j := range silences {
			if silences[j].Active(e.now) && silences[j].Matches(f, h.Owner) {
				f.Silenced = &silences[j]
				break
			}
		}
	}
	return findings, nil
}
