package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// failingWrite is a bbolt store whose prepared report writes fail.
type failingWrite struct {
	*bolt.Store
	tried int
}

var errWrite = errors.New("disk full")

func (f *failingWrite) ApplyPreparedReport(context.Context, patchwatch.Host, []store.ReleasePackage, any, []patchwatch.Finding, bool, time.Time) ([]patchwatch.Event, error) {
	f.tried++
	return nil, errWrite
}

// TestPutHostPrepared: with the catalog built, a report is matched by its
// tuple IDs and stored through the prepared write, whose failure is the
// caller's; the findings are those a whole match gives.
func TestPutHostPrepared(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s := openStore(t)
	a := patchwatch.Advisory{ID: "USN-1-1", Source: patchwatch.SourceUSN, Title: "t", Published: now, Modified: now, Severity: patchwatch.SeverityHigh,
		Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: "openssl", Kind: patchwatch.KindSource, FixedVersion: "3.0.2-0ubuntu1.10"}}}
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{a}); err != nil {
		t.Fatal(err)
	}
	host := func(name, version string) patchwatch.Host {
		return patchwatch.Host{Name: name, Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: now,
			Packages: []patchwatch.Package{{Name: "libssl3", Version: version, SourceName: "openssl", SourceVersion: version},
				{Name: "bash", Version: "5.1-6ubuntu1", SourceName: "bash", SourceVersion: "5.1-6ubuntu1"}}}
	}
	svc := service.New(s, patchwatch.DefaultUrgencyRules(), func() time.Time { return now })
	if _, err := svc.PutHost(ctx, host("vm0", "3.0.2-0ubuntu1.9")); err != nil {
		t.Fatal(err)
	}
	if err := svc.Reevaluate(ctx, "test"); err != nil { // builds the catalog, judges the tuples
		t.Fatal(err)
	}
	for _, h := range []patchwatch.Host{host("vm1", "3.0.2-0ubuntu1.9"), host("vm2", "3.0.2-0ubuntu1.10"), host("vm3", "3.0.2-0ubuntu1.8")} {
		if _, err := svc.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
		stored, err := s.HostFindings(ctx, h.Name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := svc.Findings(ctx, &h)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != len(want) || len(want) > 0 && (stored[0].Advisory != want[0].Advisory || len(stored[0].Packages) != len(want[0].Packages)) {
			t.Errorf("%s: stored %+v, a whole match %+v", h.Name, stored, want)
		}
	}
	failing := &failingWrite{Store: s}
	svc = service.New(failing, patchwatch.DefaultUrgencyRules(), func() time.Time { return now })
	if err := svc.Reevaluate(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutHost(ctx, host("vm4", "3.0.2-0ubuntu1.9")); !errors.Is(err, errWrite) || failing.tried != 1 {
		t.Fatalf("a failed prepared write: %v (tried %d)", err, failing.tried)
	}
	if _, err := s.HostRecord(ctx, "vm4"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("vm4 stored after a failed write: %v", err)
	}
}
