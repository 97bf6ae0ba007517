package service_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// TestReevaluationProgress: a full pass shows in the feeds table (the
// re-evaluation row, done, with its start and end) and in the counts the
// metrics read; the advisories it indexed then serve reports, until an
// advisory changes.
func TestReevaluationProgress(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s, svc := openService(t, &now)
	fix := func(id, fixed string) patchwatch.Advisory {
		return patchwatch.Advisory{ID: id, Source: patchwatch.SourceUSN, Published: now, Modified: now,
			Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: "openssl", Kind: patchwatch.KindSource, FixedVersion: fixed}}}
	}
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{fix("USN-1-1", "3.0.2-0ubuntu1.10")}); err != nil {
		t.Fatal(err)
	}
	var hosts []patchwatch.Host
	for i := range 3 {
		hosts = append(hosts, patchwatch.Host{Name: fmt.Sprintf("vm%d", i), Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: now,
			Packages: []patchwatch.Package{{Name: "libssl3", Version: "3.0.2-0ubuntu1.9", SourceName: "openssl", SourceVersion: "3.0.2-0ubuntu1.9"}}})
	}
	if err := svc.ImportHosts(ctx, hosts); err != nil {
		t.Fatal(err)
	}
	if err := svc.Reevaluate(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	statuses, err := s.FeedStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var row *patchwatch.FeedStatus
	for i := range statuses {
		if statuses[i].Feed == service.ReevaluationFeed {
			row = &statuses[i]
		}
	}
	if row == nil || row.Backfill != "done" || !row.LastAttempt.Equal(now) || !row.LastSuccess.Equal(now) || row.LastError != "" {
		t.Fatalf("re-evaluation row %+v", row)
	}
	if row.Stale(now.Add(30*24*time.Hour), patchwatch.FeedStaleAfter) {
		t.Fatal("the re-evaluation row is stale a month later: it is not a polled feed")
	}
	counts, err := svc.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := counts.Reevaluation; r.Running || r.HostsDone != 3 || r.HostsTotal != 3 {
		t.Fatalf("progress %+v", r)
	}
	// A report after the pass is matched against the pass's index; a
	// modified advisory retires it.
	h := hosts[0]
	h.ReportedAt = now.Add(time.Minute)
	if _, err := svc.PutHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	if fs, _ := s.HostFindings(ctx, h.Name); len(fs) != 1 {
		t.Fatalf("findings after the pass: %+v", fs)
	}
	now = now.Add(time.Hour)
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{fix("USN-1-1", "3.0.2-0ubuntu1.9")}); err != nil {
		t.Fatal(err)
	}
	h.ReportedAt = now
	if _, err := svc.PutHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	if fs, _ := s.HostFindings(ctx, h.Name); len(fs) != 0 {
		t.Fatalf("findings after the fix moved below the installed version: %+v", fs)
	}
}

// openService opens a store in a temporary directory and a service over it
// whose clock reads *now.
func openService(t *testing.T, now *time.Time) (*bolt.Store, *service.Service) {
	t.Helper()
	s := openStore(t)
	return s, service.New(s, patchwatch.DefaultUrgencyRules(), func() time.Time { return *now })
}

// openStore opens a bbolt store in a temporary directory, closed when the
// test ends.
func openStore(t *testing.T) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
