package service

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// FleetOverview is the fleet's open findings in figures, for the admin
// digest and dashboards. Silenced findings are left out, as in the
// default listing.
type FleetOverview struct {
	// ByUrgency counts open findings by their urgency now.
	ByUrgency map[patchwatch.Urgency]int
	// OverdueByOwner counts overdue findings by the host's owner ("" for
	// hosts without one).
	OverdueByOwner map[string]int
	// TopAdvisories are the advisories open on the most hosts, most first
	// (ties by ID).
	TopAdvisories []AdvisoryHosts
	// Attention are the hosts that need attention most: by overdue
	// findings, then critical, then high ones (ties by name); hosts with
	// none of those are left out.
	Attention []AttentionHost
}

// AdvisoryHosts is an advisory and the number of hosts it is open on.
type AdvisoryHosts struct {
	ID, Title string
	Hosts     int
}

// AttentionHost is one host in need of attention.
type AttentionHost struct {
	Host, Owner             string
	Overdue, Critical, High int
}

func (a *AttentionHost) compare(b *AttentionHost) int {
	if c := cmp.Compare(b.Overdue, a.Overdue); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Critical, a.Critical); c != 0 {
		return c
	}
	if c := cmp.Compare(b.High, a.High); c != 0 {
		return c
	}
	return strings.Compare(a.Host, b.Host)
}

// Overview returns the fleet's figures from the host records alone (no
// finding details are read), with the top advisories and the hosts that
// need attention limited to top each.
func (e *Service) Overview(ctx context.Context, top int) (FleetOverview, error) {
	_, o, err := e.overview(ctx, top, nil)
	return o, err
}

// SummariesOverview returns HostSummaries(flt) and Overview(top) from one
// walk of the host records, for the digests that show both.
func (e *Service) SummariesOverview(ctx context.Context, flt HostFilter, top int) ([]HostSummary, FleetOverview, error) {
	return e.overview(ctx, top, &flt)
}

// overview computes the figures and, with a host filter, the summaries
// of the hosts that pass it.
func (e *Service) overview(ctx context.Context, top int, hosts *HostFilter) ([]HostSummary, FleetOverview, error) {
	v, err := e.newView(ctx)
	if err != nil {
		return nil, FleetOverview{}, err
	}
	o := FleetOverview{ByUrgency: map[patchwatch.Urgency]int{}, OverdueByOwner: map[string]int{}}
	advisories := map[string]int{}
	var rows []HostSummary
	if hosts != nil {
		rows = []HostSummary{}
	}
	var flt Filter
	err = e.s.EachHostRecord(ctx, "", "", func(r *patchwatch.HostRecord) error {
		if hosts != nil && (hosts.Owner == "" || strings.EqualFold(r.Owner, hosts.Owner)) {
			if row := v.summary(r, hosts.StaleAfter); !hosts.RebootRequired || row.RebootRequired {
				rows = append(rows, row)
			}
		}
		row := AttentionHost{Host: r.Name, Owner: r.Owner}
		for i := range r.Findings {
			b := &r.Findings[i]
			if !v.passes(&flt, b, r) {
				continue
			}
			u := b.UrgencyAt(e.rules, v.now)
			o.ByUrgency[u]++
			advisories[b.Advisory]++
			switch u {
			case patchwatch.UrgencyCritical:
				row.Critical++
			case patchwatch.UrgencyHigh:
				row.High++
			}
			if v.overdue(b, u) {
				row.Overdue++
				o.OverdueByOwner[r.Owner]++
			}
		}
		if row.Overdue+row.Critical+row.High > 0 {
			o.Attention = keepTop(o.Attention, row, top)
		}
		return nil
	})
	if err != nil {
		return nil, FleetOverview{}, err
	}
	for id, n := range advisories {
		o.TopAdvisories = append(o.TopAdvisories, AdvisoryHosts{ID: id, Hosts: n})
	}
	slices.SortFunc(o.TopAdvisories, func(a, b AdvisoryHosts) int {
		if a.Hosts != b.Hosts {
			return b.Hosts - a.Hosts
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(o.TopAdvisories) > top {
		o.TopAdvisories = o.TopAdvisories[:top]
	}
	for i := range o.TopAdvisories {
		a, err := e.s.Advisory(ctx, o.TopAdvisories[i].ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, FleetOverview{}, err
		}
		o.TopAdvisories[i].Title = a.Title
	}
	return rows, o, nil
}

// keepTop inserts row into the sorted list, keeping at most n rows.
func keepTop(rows []AttentionHost, row AttentionHost, n int) []AttentionHost {
	i, _ := slices.BinarySearchFunc(rows, row, func(a, b AttentionHost) int { return a.compare(&b) })
	if i >= n {
		return rows
	}
	rows = slices.Insert(rows, i, row)
	if len(rows) > n {
		rows = rows[:n]
	}
	return rows
}
