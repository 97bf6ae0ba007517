package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
)

// Filter selects findings.
type Filter struct {
	Host, Owner, Advisory string
	MinSeverity           patchwatch.Severity
	MinUrgency            patchwatch.Urgency
	IncludeSilenced       bool
	OverdueOnly           bool
	// RebootRequired keeps only findings waiting for a reboot.
	RebootRequired bool
}

// keep reports whether f passes the filter's finding-level conditions.
func (flt *Filter) keep(f *patchwatch.Finding) bool {
	return f.Severity >= flt.MinSeverity && f.Urgency >= flt.MinUrgency &&
		(f.Silenced == nil || flt.IncludeSilenced) && (f.Overdue || !flt.OverdueOnly) &&
		(flt.Advisory == "" || strings.EqualFold(f.Advisory, flt.Advisory)) &&
		(!flt.RebootRequired || f.Status == patchwatch.StatusPendingReboot)
}

// OutstandingAll returns the findings that pass the filter, most urgent
// first, over one host, one owner's hosts or the fleet.
func (e *Service) OutstandingAll(ctx context.Context, flt Filter) ([]patchwatch.Finding, error) {
	var hosts []patchwatch.Host
	if flt.Host != "" {
		h, err := e.s.Host(ctx, flt.Host)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	} else {
		var err error
		if hosts, err = e.s.Hosts(ctx); err != nil {
			return nil, err
		}
	}
	findings := []patchwatch.Finding{}
	for i := range hosts {
		if flt.Owner != "" && !strings.EqualFold(hosts[i].Owner, flt.Owner) {
			continue
		}
		fs, err := e.Outstanding(ctx, &hosts[i])
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if flt.keep(&f) {
				findings = append(findings, f)
			}
		}
	}
	matcher.SortFindings(findings)
	return findings, nil
}

// HostSummary is one row of the fleet at a glance.
type HostSummary struct {
	Name          string `json:"name"`
	Owner         string `json:"owner,omitempty"`
	Release       string `json:"release"`
	Packages      int    `json:"packages"`
	Outstanding   int    `json:"outstanding"`
	Overdue       int    `json:"overdue"`
	PendingReboot int    `json:"pending_reboot"`
	// RebootRequired is set when a fix waits for a reboot or the
	// distribution's reboot flag is up; RebootRequiredSince says since when.
	RebootRequired      bool   `json:"reboot_required"`
	RebootRequiredSince string `json:"reboot_required_since,omitempty"`
	// RebootNote says how the host's live patches bear on a reboot it
	// needs now or after its next kernel update: it can wait for a
	// maintenance window, or coverage ended and it cannot.
	RebootNote string `json:"reboot_note,omitempty"`
	ReportedAt string `json:"reported_at"`
	// Stale is set when the host has not reported for longer than the
	// configured age.
	Stale      bool `json:"stale,omitempty"`
	SourceInfo bool `json:"source_info"`
	// FailingChecks are the security-guideline checks that fail and are
	// not disabled; Checks counts the checks the host reported.
	FailingChecks []string `json:"failing_checks,omitempty"`
	Checks        int      `json:"checks"`
	// CheckStatus maps each reported check to pass, fail, unknown or
	// disabled (a silence covers it).
	CheckStatus map[string]string `json:"check_status,omitempty"`
}

// HostFilter selects hosts.
type HostFilter struct {
	Owner          string
	RebootRequired bool
	// StaleAfter flags hosts whose last report is older; 0 disables.
	StaleAfter time.Duration
}

// HostSummaries returns the hosts that pass the filter with their counts.
func (e *Service) HostSummaries(ctx context.Context, flt HostFilter) ([]HostSummary, error) {
	hosts, err := e.s.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	states, err := e.s.HostStates(ctx)
	if err != nil {
		return nil, err
	}
	silences, err := e.s.Silences(ctx)
	if err != nil {
		return nil, err
	}
	now := e.now()
	rows := []HostSummary{}
	for i := range hosts {
		h := &hosts[i]
		if flt.Owner != "" && !strings.EqualFold(h.Owner, flt.Owner) {
			continue
		}
		findings, err := e.Outstanding(ctx, h)
		if err != nil {
			return nil, err
		}
		row := HostSummary{Name: h.Name, Owner: h.Owner, Release: h.Release, Packages: len(h.Packages),
			ReportedAt: h.ReportedAt.Format(time.RFC3339), SourceInfo: h.SourceInfo, RebootRequired: h.RebootRequired,
			Stale:  flt.StaleAfter > 0 && now.Sub(h.ReportedAt) > flt.StaleAfter,
			Checks: len(h.Checks)}
		if len(h.Checks) > 0 {
			checks := patchwatch.HostChecks(h, silences, now)
			row.FailingChecks = patchwatch.FailingChecks(checks)
			row.CheckStatus = make(map[string]string, len(checks))
			for _, c := range checks {
				row.CheckStatus[c.ID] = c.Status
				if c.Silenced != nil {
					row.CheckStatus[c.ID] = "disabled"
				}
			}
		}
		for _, f := range findings {
			if f.Silenced != nil {
				continue
			}
			if f.Status == patchwatch.StatusPendingReboot {
				row.PendingReboot++
				row.RebootRequired = true
			} else {
				row.Outstanding++
			}
			if f.Overdue {
				row.Overdue++
			}
		}
		row.RebootNote = patchwatch.RebootNote(h.Checks)
		if since := states[h.Name].RebootRequiredSince; row.RebootRequired && !since.IsZero() {
			row.RebootRequiredSince = since.Format(time.RFC3339)
		}
		if flt.RebootRequired && !row.RebootRequired {
			continue
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// TimeToPatchRow is one group of the time-to-patch report.
type TimeToPatchRow struct {
	Group    string  `json:"group"`
	Resolved int     `json:"resolved"`
	Open     int     `json:"open"`
	Overdue  int     `json:"overdue"`
	Median   float64 `json:"median_days"`
	P90      float64 `json:"p90_days"`
	Mean     float64 `json:"mean_days"`
	// OldestOpen is the age in days of the oldest open finding.
	OldestOpen float64 `json:"oldest_open_days"`
}

// TimeToPatch groups the finding records by host, owner or urgency and
// measures, for resolved ones, the days from first seen to resolved, and
// for open ones their age.
func (e *Service) TimeToPatch(ctx context.Context, by string) ([]TimeToPatchRow, error) {
	records, err := e.s.FindingRecords(ctx, "")
	if err != nil {
		return nil, err
	}
	now := e.now()
	type acc struct {
		days []float64
		row  TimeToPatchRow
	}
	groups := map[string]*acc{}
	for _, r := range records {
		key := r.Urgency.String()
		switch by {
		case "host":
			key = r.Host
		case "owner":
			key = r.Owner
			if key == "" {
				key = "(no owner)"
			}
		}
		a := groups[key]
		if a == nil {
			a = &acc{row: TimeToPatchRow{Group: key}}
			groups[key] = a
		}
		if r.Open() {
			a.row.Open++
			a.row.OldestOpen = max(a.row.OldestOpen, now.Sub(r.FirstSeen).Hours()/24)
			if now.After(e.rules.Deadline(r.Urgency, r.FirstSeen)) {
				a.row.Overdue++
			}
			continue
		}
		a.row.Resolved++
		a.days = append(a.days, r.ResolvedAt.Sub(r.FirstSeen).Hours()/24)
	}
	rows := make([]TimeToPatchRow, 0, len(groups))
	for _, a := range groups {
		if n := len(a.days); n > 0 {
			slices.Sort(a.days)
			sum := 0.0
			for _, d := range a.days {
				sum += d
			}
			a.row.Mean = sum / float64(n)
			a.row.Median = percentile(a.days, 0.5)
			a.row.P90 = percentile(a.days, 0.9)
		}
		rows = append(rows, a.row)
	}
	slices.SortFunc(rows, func(x, y TimeToPatchRow) int {
		if by == "urgency" {
			ux, _ := patchwatch.ParseUrgency(x.Group)
			uy, _ := patchwatch.ParseUrgency(y.Group)
			return int(uy) - int(ux)
		}
		return strings.Compare(x.Group, y.Group)
	})
	return rows, nil
}

// percentile of sorted values, nearest-rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
