package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

// TestReplicasShareIntake: two replicas (two stores, two pools) on one
// database take interleaved reports of the same hosts; every host ends
// with its findings in step with its last report, and nothing fails.
func TestReplicasShareIntake(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	a, b := pgtest.OpenDSN(t, dsn), pgtest.OpenDSN(t, dsn)
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	adv := patchwatch.Advisory{ID: "USN-1-1", Source: patchwatch.SourceUSN, Title: "zlib", Severity: patchwatch.SeverityHigh, Published: t0, Modified: t0,
		Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: "zlib", Kind: patchwatch.KindSource, FixedVersion: "1.0-2"}}}
	if _, err := a.UpsertAdvisories(ctx, []patchwatch.Advisory{adv}); err != nil {
		t.Fatal(err)
	}
	const hosts, rounds = 10, 6
	var wg sync.WaitGroup
	for r, s := range []*service.Service{
		service.New(a, patchwatch.DefaultUrgencyRules(), func() time.Time { return t0 }),
		service.New(b, patchwatch.DefaultUrgencyRules(), func() time.Time { return t0 }),
	} {
		wg.Go(func() {
			for round := range rounds {
				for i := range hosts {
					// Odd rounds install the fix: the finding opens and resolves.
					v := "1.0-1"
					if round%2 == 1 {
						v = "1.0-2"
					}
					h := patchwatch.Host{Name: fmt.Sprintf("vm%02d", i), Owner: "ops", Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian, SourceInfo: true,
						ReportedAt: t0.Add(time.Duration(round*2+r) * time.Minute),
						Packages:   []patchwatch.Package{{Name: "zlib1g", Version: v, SourceName: "zlib", SourceVersion: v}, {Name: fmt.Sprintf("own%d", r), Version: "1"}}}
					if _, err := s.PutHost(ctx, h); err != nil {
						t.Errorf("replica %d: %v", r, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if n, err := b.CountHosts(ctx); err != nil || n != hosts {
		t.Fatalf("%d hosts (%v), want %d", n, err, hosts)
	}
	for i := range hosts {
		name := fmt.Sprintf("vm%02d", i)
		h, err := a.Host(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := b.HostRecord(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		open, err := a.HostFindings(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		// The last report stored is the one the read model describes.
		if !rec.ReportedAt.Equal(h.ReportedAt) || len(rec.Findings) != len(open) {
			t.Fatalf("%s: record of %v with %d briefs, host of %v with %d open findings", name, rec.ReportedAt, len(rec.Findings), h.ReportedAt, len(open))
		}
		wantOpen := h.Packages[0].Version == "1.0-1"
		if (len(open) == 1) != wantOpen {
			t.Fatalf("%s runs zlib %s but has %d open findings", name, h.Packages[0].Version, len(open))
		}
	}
}

// TestClaimDeliveriesOnce: two replicas working one outbox claim every
// due delivery exactly once; a claim holds until it is released or its
// lease lapses, when another replica may claim the delivery again.
func TestClaimDeliveriesOnce(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	a, b := pgtest.OpenDSN(t, dsn), pgtest.OpenDSN(t, dsn)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	const n, lease = 120, time.Minute
	for i := range n {
		d := patchwatch.Delivery{ID: fmt.Sprintf("d%03d", i), Kind: "alert", Channel: "email", Target: "ops@example.org", CreatedAt: now, NextAt: now}
		switch i % 10 {
		case 7:
			d.Channel, d.Target = "slack", "#ops"
		case 8:
			d.NextAt = now.Add(time.Hour) // not due
		case 9:
			d.Failed = true
		}
		if err := a.PutDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range []notify.Claimer{a, b, a, b} {
		wg.Go(func() {
			for {
				ds, err := s.ClaimDeliveries(ctx, now, lease, []string{"slack"}, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					claimed[d.ID]++
					if d.Channel == "slack" {
						t.Errorf("%s claimed on a skipped channel", d.ID)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != n*7/10 {
		t.Fatalf("%d deliveries claimed, want %d", len(claimed), n*7/10)
	}
	for id, c := range claimed {
		if c != 1 {
			t.Fatalf("%s claimed %d times", id, c)
		}
	}
	// Live claims hold: only the skipped channel's deliveries are left.
	rest, err := b.ClaimDeliveries(ctx, now.Add(lease-time.Second), lease, nil, n)
	if err != nil || len(rest) != n/10 || rest[0].Channel != "slack" {
		t.Fatalf("claims before the lease ends: %d %v", len(rest), err)
	}
	// A released delivery (its outcome stored: a retry in a minute) is due
	// again then; one deleted is gone.
	d := rest[0]
	d.NextAt, d.Attempts = now.Add(time.Minute), 1
	if err := a.ReleaseDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteDelivery(ctx, rest[1].ID); err != nil {
		t.Fatal(err)
	}
	again, err := a.ClaimDeliveries(ctx, now.Add(time.Minute), lease, []string{"email"}, 10)
	if err != nil || len(again) != 1 || again[0].ID != d.ID || again[0].Attempts != 1 {
		t.Fatalf("reclaim after release %+v %v", again, err)
	}
	// A claimer that died: once its lease lapsed, every delivery it held
	// (a send it recorded as started among them) is claimed again, once.
	started := rest[2]
	started.SendingAt = now
	if err := b.PutDelivery(ctx, started); err != nil {
		t.Fatal(err)
	}
	after := now.Add(2*lease + time.Second) // past every claim above
	stale, err := b.ClaimDeliveries(ctx, after, lease, nil, n)
	if err != nil || len(stale) != n*7/10+n/10-1 {
		t.Fatalf("%d deliveries reclaimed after the lease (%v), want %d", len(stale), err, n*7/10+n/10-1)
	}
	for _, s := range stale {
		if s.ID == started.ID && !s.SendingAt.Equal(now) {
			t.Fatalf("the interrupted send comes back without its SendingAt: %+v", s)
		}
	}
	if more, err := a.ClaimDeliveries(ctx, after, lease, nil, n); err != nil || len(more) != 0 {
		t.Fatalf("claimed twice after the lease: %d %v", len(more), err)
	}
}
