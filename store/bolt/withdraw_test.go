package bolt_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// TestWithdrawAdvisories: a withdrawn advisory leaves the store and the
// fix index, its open findings resolve as "withdrawn" with an event for the
// notifier, the cursor moves in the same transaction; IDs never stored
// change nothing, nor does a withdrawal older than the stored copy (it was
// published again).
func TestWithdrawAdvisories(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	t0 := time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC)
	a := advisory("RHBA-2026:0100", t0, patchwatch.Fix{Release: "rhel-eus:10.0", Package: "sudo", Kind: patchwatch.KindBinary, FixedVersion: "0:1.9.15-8.p5.el10_0.2"})
	a.Source = patchwatch.SourceRHSA
	kept := advisory("RHSA-2024:0811", t0, patchwatch.Fix{Release: "rhel-eus:10.0", Package: "sudo", Kind: patchwatch.KindBinary, FixedVersion: "0:1.9.15-1.el10"})
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{a, kept}); err != nil {
		t.Fatal(err)
	}
	h := patchwatch.Host{Name: "db1", Owner: "ops@example.com", Project: "p1", Release: "rhel-eus:10.0", Family: patchwatch.FamilyRPM,
		Packages: []patchwatch.Package{{Name: "sudo", Version: "0:1.9.15-8.p5.el10", Arch: "x86_64"}}, ReportedAt: t0}
	findings := []patchwatch.Finding{
		{Host: "db1", Advisory: a.ID, Status: patchwatch.StatusUpdate, Urgency: patchwatch.UrgencyMedium},
		{Host: "db1", Advisory: kept.ID, Status: patchwatch.StatusUpdate, Urgency: patchwatch.UrgencyMedium},
	}
	index := []store.ReleasePackage{{Release: "rhel-eus:10.0", Package: "sudo"}}
	if _, err := s.ApplyReport(ctx, h, index, findings, false, t0); err != nil {
		t.Fatal(err)
	}
	before, _ := s.PendingEvents(ctx)

	t1 := t0.Add(time.Hour)
	removed, err := s.WithdrawAdvisories(ctx, "rhsa", []store.Withdrawal{{ID: "RHSA-2099:0001"}, {ID: a.ID, At: t1}, {ID: kept.ID, At: t0.Add(-time.Minute)}}, []byte("cursor-2"), t1)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].ID != a.ID || len(removed[0].Fixes) != 1 {
		t.Fatalf("removed = %+v", removed)
	}
	if _, err := s.Advisory(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("withdrawn advisory still stored: %v", err)
	}
	left, err := s.AdvisoriesFor(ctx, "rhel-eus:10.0", []string{"sudo"})
	if err != nil || len(left) != 1 || left[0].ID != kept.ID {
		t.Errorf("fix index after withdrawal: %v %v", left, err)
	}
	records, _ := s.FindingRecords(ctx, "db1")
	for _, r := range records {
		switch r.Advisory {
		case a.ID:
			if r.Open() || r.ResolvedBy != store.ResolvedWithdrawn || !r.ResolvedAt.Equal(t1) {
				t.Errorf("withdrawn finding = %+v", r)
			}
		case kept.ID:
			if !r.Open() {
				t.Errorf("other finding resolved: %+v", r)
			}
		}
	}
	// The read models the queries use drop it in the same transaction.
	open, err := s.HostFindings(ctx, "db1")
	if err != nil || len(open) != 1 || open[0].Advisory != kept.ID {
		t.Errorf("open findings after withdrawal = %+v, %v", open, err)
	}
	if rec, err := s.HostRecord(ctx, "db1"); err != nil || len(rec.Findings) != 1 || rec.Findings[0].Advisory != kept.ID {
		t.Errorf("host record after withdrawal = %+v, %v", rec.Findings, err)
	}
	if hosts, _ := s.HostsWithAdvisories(ctx, []string{a.ID}); len(hosts) != 0 {
		t.Errorf("advisory index still lists %v", hosts)
	}
	after, _ := s.PendingEvents(ctx)
	if len(after) != len(before)+1 {
		t.Fatalf("%d events queued, want 1", len(after)-len(before))
	}
	if e := after[len(after)-1]; e.Kind != patchwatch.EventResolved || e.Advisory != a.ID || e.Owner != "ops@example.com" || e.Project != "p1" {
		t.Errorf("event = %+v", e)
	}
	if c, _ := s.Cursor(ctx, "rhsa"); string(c) != "cursor-2" {
		t.Errorf("cursor = %q", c)
	}
	// Withdrawing again changes nothing and queues nothing.
	if removed, err := s.WithdrawAdvisories(ctx, "rhsa", []store.Withdrawal{{ID: a.ID}}, []byte("cursor-3"), t1.Add(time.Hour)); err != nil || len(removed) != 0 {
		t.Errorf("second withdrawal: %v %v", removed, err)
	}
	if again, _ := s.PendingEvents(ctx); len(again) != len(after) {
		t.Errorf("second withdrawal queued %d events", len(again)-len(after))
	}
}
