package service_test

import (
	"context"
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/batchgc"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// gcWatch is a bbolt store that notes the collector's target at each of
// a pass's commits.
type gcWatch struct {
	*bolt.Store
	seen []int
}

func (w *gcWatch) SyncBatch(ctx context.Context, batch []store.Evaluation, now time.Time) error {
	w.seen = append(w.seen, batchgc.Current())
	return w.Store.SyncBatch(ctx, batch, now)
}

// TestPassRaisesCollectorTarget: the full re-evaluation and a KEV
// update's pass commit with the collector's target raised, and leave it
// as they found it.
func TestPassRaisesCollectorTarget(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: a pass keeps it")
	}
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s := openStore(t)
	w := &gcWatch{Store: s}
	svc := service.New(w, patchwatch.DefaultUrgencyRules(), func() time.Time { return now })
	adv := patchwatch.Advisory{ID: "USN-1-1", Source: patchwatch.SourceUSN, Published: now, Modified: now, CVEs: []string{"CVE-2026-0001"},
		Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: "openssl", Kind: patchwatch.KindSource, FixedVersion: "3.0.2-0ubuntu1.10"}}}
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{adv}); err != nil {
		t.Fatal(err)
	}
	host := patchwatch.Host{Name: "vm", Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: now,
		Packages: []patchwatch.Package{{Name: "libssl3", Version: "3.0.2-0ubuntu1.9", SourceName: "openssl", SourceVersion: "3.0.2-0ubuntu1.9"}}}
	if err := svc.ImportHosts(ctx, []patchwatch.Host{host}); err != nil {
		t.Fatal(err)
	}
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	if err := svc.Reevaluate(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceKEV(ctx, []patchwatch.KEVEntry{{CVE: "CVE-2026-0001", DateAdded: "2026-05-30", DueDate: "2026-06-20"}}, "kev", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.ReassessCVEs(ctx, []string{"CVE-2026-0001"}); err != nil || n != 1 {
		t.Fatalf("ReassessCVEs = %d, %v; want the one host", n, err)
	}
	if len(w.seen) != 2 {
		t.Fatalf("the passes committed %d times, want 2 (one each)", len(w.seen))
	}
	for i, p := range w.seen {
		if p != batchgc.Percent {
			t.Errorf("commit %d of the passes ran with GOGC %d, want %d", i, p, batchgc.Percent)
		}
	}
	if p := debug.SetGCPercent(before); p != 100 {
		t.Errorf("after the passes GOGC is %d, want 100 again", p)
	}
}
