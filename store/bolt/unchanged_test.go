package bolt_test

import (
	"context"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// TestUnchanged: an evaluation equal to what is stored is unchanged; any
// difference SyncBatch would write (a finding's urgency, reasons or
// packages, a finding more or less, the reboot state, a newer report, a
// partial inventory's package count) is not, and once SyncBatch has
// written it, it is unchanged again.
func TestUnchanged(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	t0 := time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC)
	h := patchwatch.Host{Name: "db1", Owner: "ops@example.com", Release: "debian:12", Family: patchwatch.FamilyDebian, SourceInfo: true,
		Packages: []patchwatch.Package{{Name: "sudo", Version: "1.9.13p3-1", SourceName: "sudo", SourceVersion: "1.9.13p3-1"}}, ReportedAt: t0}
	finding := patchwatch.Finding{Host: "db1", Advisory: "DSA-5580-1", Status: patchwatch.StatusUpdate, Urgency: patchwatch.UrgencyMedium,
		Packages: []patchwatch.FindingPackage{{Name: "sudo", Installed: "1.9.13p3-1", Fixed: "1.9.13p3-1+deb12u1"}}}
	if _, err := s.ApplyReport(ctx, h, []store.ReleasePackage{{Release: "debian:12", Package: "sudo"}}, []patchwatch.Finding{finding}, false, t0); err != nil {
		t.Fatal(err)
	}
	same := store.Evaluation{Host: h, Findings: []patchwatch.Finding{finding}}
	check := func(name string, ev store.Evaluation, want bool) {
		t.Helper()
		got, err := s.Unchanged(ctx, []store.Evaluation{ev})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != want {
			t.Errorf("%s: unchanged %t, want %t", name, got[0], want)
		}
	}
	check("as stored", same, true)
	partial := same
	partial.Host.Packages, partial.Host.PackageCount = nil, 1
	check("a partial inventory of the same count", partial, true)
	partial.Host.PackageCount = 2
	check("a partial inventory of another count", partial, false)

	raised := finding
	raised.Urgency = patchwatch.UrgencyCritical
	check("urgency raised", store.Evaluation{Host: h, Findings: []patchwatch.Finding{raised}}, false)
	reasons := finding
	reasons.UrgencyReasons = []string{"listed in CISA KEV"}
	check("new urgency reasons", store.Evaluation{Host: h, Findings: []patchwatch.Finding{reasons}}, false)
	check("resolved", store.Evaluation{Host: h}, false)
	other := finding
	other.Advisory = "DSA-5600-1"
	check("a second finding", store.Evaluation{Host: h, Findings: []patchwatch.Finding{finding, other}}, false)
	check("a finding replaced", store.Evaluation{Host: h, Findings: []patchwatch.Finding{other}}, false)
	reboot := same
	reboot.RebootRequired = true
	check("reboot required", reboot, false)
	newer := same
	newer.Host.ReportedAt = t0.Add(time.Hour)
	check("a newer report", newer, false)
	check("an unknown host", store.Evaluation{Host: patchwatch.Host{Name: "gone"}}, false)

	for _, ev := range []store.Evaluation{reboot, {Host: h, Findings: []patchwatch.Finding{reasons}}} {
		if err := s.SyncBatch(ctx, []store.Evaluation{ev}, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		check("once written", ev, true)
	}
}

// TestPreparedWrite: a batch whose findings were encoded ahead (by
// Unchanged or PrepareEvaluations) is stored as one that was not, and an
// evaluation whose Prepared does not fit its findings (fewer, or as many
// others) is encoded anew.
func TestPreparedWrite(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	t0 := time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC)
	h := patchwatch.Host{Name: "db1", Owner: "ops@example.com", Release: "debian:12", Family: patchwatch.FamilyDebian, SourceInfo: true,
		Packages: []patchwatch.Package{{Name: "sudo", Version: "1.9.13p3-1", SourceName: "sudo", SourceVersion: "1.9.13p3-1"}}, ReportedAt: t0}
	finding := func(advisory string, u patchwatch.Urgency) patchwatch.Finding {
		return patchwatch.Finding{Host: "db1", Advisory: advisory, Status: patchwatch.StatusUpdate, Urgency: u, Title: advisory + " title",
			Packages: []patchwatch.FindingPackage{{Name: "sudo", Installed: "1.9.13p3-1", Fixed: "1.9.13p3-1+deb12u1"}}}
	}
	if _, err := s.ApplyReport(ctx, h, []store.ReleasePackage{{Release: "debian:12", Package: "sudo"}}, []patchwatch.Finding{finding("DSA-1-1", patchwatch.UrgencyLow)}, false, t0); err != nil {
		t.Fatal(err)
	}
	want := []patchwatch.Finding{finding("DSA-1-1", patchwatch.UrgencyHigh), finding("DSA-2-1", patchwatch.UrgencyMedium), finding("DSA-3-1", patchwatch.UrgencyLow)}
	batch := []store.Evaluation{{Host: h, Findings: want}}
	same, err := s.Unchanged(ctx, batch)
	if err != nil || same[0] {
		t.Fatalf("Unchanged: %v %v", same, err)
	}
	if batch[0].Prepared == nil {
		t.Fatal("a changed evaluation is not prepared")
	}
	if err := s.SyncBatch(ctx, batch, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.HostFindings(ctx, "db1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("stored %d findings, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Advisory != want[i].Advisory || got[i].Urgency != want[i].Urgency || got[i].Title != want[i].Title {
			t.Errorf("finding %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// Prepared for other findings than the batch's: ignored.
	stale := []store.Evaluation{{Host: h, Findings: want[:2]}}
	if err := s.PrepareEvaluations(ctx, stale); err != nil {
		t.Fatal(err)
	}
	stale[0].Findings = want[:1]
	if err := s.SyncBatch(ctx, stale, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err = s.HostFindings(ctx, "db1"); err != nil || len(got) != 1 || got[0].Advisory != "DSA-1-1" || got[0].Urgency != patchwatch.UrgencyHigh {
		t.Fatalf("after a mismatched Prepared: %+v %v", got, err)
	}
	if same, err := s.Unchanged(ctx, []store.Evaluation{{Host: h, Findings: want[:1]}}); err != nil || !same[0] {
		t.Fatalf("stored write not unchanged: %v %v", same, err)
	}
	// Prepared for as many other findings: their encodings are not
	// stored under the batch's findings' keys.
	other := []store.Evaluation{{Host: h, Findings: []patchwatch.Finding{want[0], want[2]}}}
	if err := s.PrepareEvaluations(ctx, other); err != nil {
		t.Fatal(err)
	}
	other[0].Findings = []patchwatch.Finding{want[0], finding("DSA-4-1", patchwatch.UrgencyLow)}
	if err := s.SyncBatch(ctx, other, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err = s.HostFindings(ctx, "db1"); err != nil || len(got) != 2 || got[1].Advisory != "DSA-4-1" || got[1].Title != "DSA-4-1 title" {
		t.Fatalf("after a Prepared of as many other findings: %+v %v", got, err)
	}
}
