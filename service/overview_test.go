package service_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
)

// TestOverviewAttention: the hosts needing attention most are those a
// count over the full listing ranks first (overdue, critical, high).
func TestOverviewAttention(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s, svc := openService(t, &now)
	var advisories []patchwatch.Advisory
	for i := range 6 {
		sev := patchwatch.SeverityCritical
		if i%2 == 1 {
			sev = patchwatch.SeverityHigh
		}
		advisories = append(advisories, patchwatch.Advisory{ID: fmt.Sprintf("USN-%d-1", i), Source: patchwatch.SourceUSN, Title: fmt.Sprint("t", i),
			Published: now.Add(-time.Hour), Modified: now, Severity: sev,
			Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: fmt.Sprintf("p%d", i), Kind: patchwatch.KindSource, FixedVersion: "2.0-1"}}})
	}
	if _, err := s.UpsertAdvisories(ctx, advisories); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		h := patchwatch.Host{Name: fmt.Sprintf("vm%02d", i), Owner: fmt.Sprintf("o%d@example.org", i%4), Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian,
			SourceInfo: true, ReportedAt: now}
		for p := range 6 {
			v := "2.0-1"
			if (i*7+p*3)%5 < 2 {
				v = "1.0-1"
			}
			h.Packages = append(h.Packages, patchwatch.Package{Name: fmt.Sprintf("p%d", p), Version: v, SourceName: fmt.Sprintf("p%d", p), SourceVersion: v})
		}
		if i%3 == 0 { // older hosts: their findings are overdue later
			now = now.Add(-72 * time.Hour)
		}
		if _, err := svc.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
		now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	now = now.Add(5 * 24 * time.Hour)
	got, err := svc.Overview(ctx, 20)
	if err != nil {
		t.Fatal(err)
	}
	all, err := svc.OutstandingAll(ctx, service.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byHost := map[string]*service.AttentionHost{}
	byUrgency := map[patchwatch.Urgency]int{}
	for _, f := range all {
		byUrgency[f.Urgency]++
		r := byHost[f.Host]
		if r == nil {
			r = &service.AttentionHost{Host: f.Host}
			byHost[f.Host] = r
		}
		if f.Overdue {
			r.Overdue++
		}
		switch f.Urgency {
		case patchwatch.UrgencyCritical:
			r.Critical++
		case patchwatch.UrgencyHigh:
			r.High++
		}
	}
	var want []string
	var rows []service.AttentionHost
	for _, r := range byHost {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b service.AttentionHost) int {
		return cmp.Or(cmp.Compare(b.Overdue, a.Overdue), cmp.Compare(b.Critical, a.Critical), cmp.Compare(b.High, a.High), strings.Compare(a.Host, b.Host))
	})
	for _, r := range rows[:min(20, len(rows))] {
		want = append(want, fmt.Sprintf("%s %d/%d/%d", r.Host, r.Overdue, r.Critical, r.High))
	}
	var have []string
	for _, r := range got.Attention {
		have = append(have, fmt.Sprintf("%s %d/%d/%d", r.Host, r.Overdue, r.Critical, r.High))
	}
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Fatalf("attention\n%s\nwant\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
	if fmt.Sprint(got.ByUrgency) != fmt.Sprint(byUrgency) {
		t.Fatalf("by urgency %v, listing gives %v", got.ByUrgency, byUrgency)
	}
	if len(got.Attention) != 20 || got.Attention[0].Overdue == 0 {
		t.Fatalf("want 20 hosts led by overdue ones: %+v", got.Attention)
	}
	checkPagedQueries(t, svc, got, all)
}

// checkPagedQueries: the one-walk, paged and brief-level queries agree
// with Overview, HostSummaries and the full listing.
func checkPagedQueries(t *testing.T, svc *service.Service, overview service.FleetOverview, all []patchwatch.Finding) {
	t.Helper()
	ctx := context.Background()
	rows, o, err := svc.SummariesOverview(ctx, service.HostFilter{StaleAfter: time.Hour}, 20)
	if err != nil {
		t.Fatal(err)
	}
	wantRows, err := svc.HostSummaries(ctx, service.HostFilter{StaleAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rows) != fmt.Sprint(wantRows) || fmt.Sprint(o) != fmt.Sprint(overview) {
		t.Fatalf("SummariesOverview differs from HostSummaries and Overview")
	}
	for _, off := range []int{0, 7, len(all) - 3, len(all) + 5} {
		page, total, err := svc.OutstandingPage(ctx, service.Filter{}, off, 7)
		if err != nil {
			t.Fatal(err)
		}
		want := all[min(off, len(all)):min(off+7, len(all))]
		if total != len(all) || len(page) != len(want) {
			t.Fatalf("page at %d: %d of %d, want %d of %d", off, len(page), total, len(want), len(all))
		}
		for i := range page {
			if page[i].Host != want[i].Host || page[i].Advisory != want[i].Advisory || page[i].Urgency != want[i].Urgency {
				t.Fatalf("page at %d, row %d: %s %s, want %s %s", off, i, page[i].Host, page[i].Advisory, want[i].Host, want[i].Advisory)
			}
		}
	}
	matches, err := svc.MatchAdvisories(ctx, "", "usn-")
	if err != nil {
		t.Fatal(err)
	}
	var wantIDs []string
	hosts := map[string]int{}
	for _, f := range all {
		if hosts[f.Advisory] == 0 {
			wantIDs = append(wantIDs, f.Advisory)
		}
		hosts[f.Advisory]++
	}
	slices.SortStableFunc(wantIDs, func(a, b string) int { return hosts[b] - hosts[a] })
	var got, want []string
	for _, m := range matches {
		got = append(got, fmt.Sprint(m.ID, " ", m.Hosts))
	}
	for _, id := range wantIDs {
		want = append(want, fmt.Sprint(id, " ", hosts[id]))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("matches %v, listing gives %v", got, want)
	}
}

// TestHostSummaryPage: every page of every filter equals the slice of the
// full listing filtered the same way, and the total counts it all.
func TestHostSummaryPage(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s, svc := openService(t, &now)
	adv := patchwatch.Advisory{ID: "USN-1-1", Source: patchwatch.SourceUSN, Title: "kernel", Published: now, Modified: now, Severity: patchwatch.SeverityHigh,
		Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: "zlib", Kind: patchwatch.KindSource, FixedVersion: "2"}}}
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{adv}); err != nil {
		t.Fatal(err)
	}
	for i := range 23 {
		v := "2"
		if i%3 == 0 {
			v = "1"
		}
		h := patchwatch.Host{Name: fmt.Sprintf("vm%02d", i), Owner: fmt.Sprintf("o%d@example.org", i%2), Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian,
			SourceInfo: true, ReportedAt: now.Add(-time.Duration(i) * 6 * time.Hour), RebootRequired: i%4 == 0,
			Packages: []patchwatch.Package{{Name: "zlib1g", Version: v, SourceName: "zlib", SourceVersion: v}}}
		if _, err := svc.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		flt    service.HostFilter
		name   string
		stale  bool
		offset int
	}{
		{service.HostFilter{}, "", false, 0},
		{service.HostFilter{}, "", false, 10},
		{service.HostFilter{Owner: "O1@example.org"}, "", false, 5},
		{service.HostFilter{RebootRequired: true}, "", false, 0},
		{service.HostFilter{StaleAfter: 48 * time.Hour}, "", true, 2},
		{service.HostFilter{}, "VM1", false, 3},
		{service.HostFilter{}, "", false, 40},
	} {
		all, err := svc.HostSummaries(ctx, tc.flt)
		if err != nil {
			t.Fatal(err)
		}
		all = slices.DeleteFunc(all, func(h service.HostSummary) bool {
			return tc.stale && !h.Stale || tc.name != "" && !strings.Contains(h.Name, strings.ToLower(tc.name))
		})
		got, total, err := svc.HostSummaryPage(ctx, tc.flt, tc.name, tc.stale, tc.offset, 5)
		if err != nil {
			t.Fatal(err)
		}
		want := all[min(tc.offset, len(all)):min(tc.offset+5, len(all))]
		if total != len(all) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%+v: %d of %d\n got %v\nwant %v", tc, len(got), total, got, want)
		}
	}
}
