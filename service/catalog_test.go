package service_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// countingStore counts the advisory lookups a report's evaluation makes.
type countingStore struct {
	*bolt.Store
	lookups atomic.Int64
}

func (c *countingStore) AdvisoriesFor(ctx context.Context, release string, packages []string) ([]patchwatch.Advisory, error) {
	c.lookups.Add(1)
	return c.Store.AdvisoriesFor(ctx, release, packages)
}

// TestReportsUseTheCatalog: once the catalog is built (after catalogAfter
// reports, or by a full pass), a report is matched without looking any
// advisory up, with the findings a lookup gives; a binary-only report still
// looks its advisories up (it is matched through the binary map).
func TestReportsUseTheCatalog(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s, _ := openService(t, &now)
	cs := &countingStore{Store: s}
	svc := service.New(cs, patchwatch.DefaultUrgencyRules(), func() time.Time { return now })
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{{ID: "USN-1-1", Source: patchwatch.SourceUSN, Published: now, Modified: now,
		Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: "openssl", Kind: patchwatch.KindSource, FixedVersion: "3.0.2-0ubuntu1.10"}}}}); err != nil {
		t.Fatal(err)
	}
	host := func(i int) patchwatch.Host {
		return patchwatch.Host{Name: fmt.Sprintf("vm%03d", i), Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: now,
			Packages: []patchwatch.Package{{Name: "libssl3", Version: "3.0.2-0ubuntu1.9", SourceName: "openssl", SourceVersion: "3.0.2-0ubuntu1.9"}}}
	}
	report := func(h patchwatch.Host) int64 {
		t.Helper()
		before := cs.lookups.Load()
		if _, err := svc.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
		if fs, err := s.HostFindings(ctx, h.Name); err != nil || len(fs) != 1 || fs[0].Advisory != "USN-1-1" {
			t.Fatalf("%s: findings %+v, %v", h.Name, fs, err)
		}
		return cs.lookups.Load() - before
	}
	if n := report(host(0)); n == 0 {
		t.Fatal("the first report of a fresh service found its advisories without a lookup")
	}
	for i := 1; i < 40; i++ {
		report(host(i))
	}
	if n := report(host(40)); n != 0 {
		t.Fatalf("report 41 looked advisories up %d times: the catalog is not used", n)
	}
	binaryOnly := host(41)
	binaryOnly.Packages[0].SourceName, binaryOnly.Packages[0].SourceVersion = "", ""
	binaryOnly.Packages[0].Name = "openssl"
	binaryOnly.SourceInfo = false
	if n := report(binaryOnly); n == 0 {
		t.Fatal("a binary-only report was matched against the catalog")
	}
}
