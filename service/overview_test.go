package service_test

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
)

// TestOverviewAttention: the hosts needing attention most are those a
// count over the full listing ranks first (overdue, critical, high).
func TestOverviewAttention(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(filepath.Join(t.TempDir(), "pw.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	svc := service.New(s, patchwatch.DefaultUrgencyRules(), func() time.Time { return now })
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
}
