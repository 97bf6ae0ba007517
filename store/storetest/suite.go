package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
)

// Run runs the whole suite; open returns a fresh, empty store for each
// test (and closes it with t.Cleanup). The tests run in parallel.
func Run(t *testing.T, open func(t *testing.T) Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Storage)
	}{
		{"UpsertOutcomes", testUpsertOutcomes},
		{"FixIndex", testFixIndex},
		{"CommitFeedCursor", testCommitFeedCursor},
		{"ReportFindingsInStep", testReportFindingsInStep},
		{"HostIndexAndRematch", testHostIndexAndRematch},
		{"OwnerWalk", testOwnerWalk},
		{"SyncBatchSkipsNewer", testSyncBatchSkipsNewer},
		{"Withdraw", testWithdraw},
		{"NotifyOutbox", testNotifyOutbox},
		{"OldestPendingEvent", testOldestPendingEvent},
		{"KEVAndUrgencies", testKEVAndUrgencies},
		{"Silences", testSilences},
		{"BinaryMap", testBinaryMap},
		{"EvaluationState", testEvaluationState},
		{"FeedStatus", testFeedStatus},
		{"NotFound", testNotFound},
		{"UrgencyIndex", testUrgencyIndex},
		{"SourcesKnown", testSourcesKnown},
		{"AdvisoryGeneration", testAdvisoryGeneration},
		{"Tokens", testTokens},
		{"EnrollClaims", testEnrollClaims},
		{"EnrollConcurrent", testEnrollConcurrent},
		{"RemoveHost", testRemoveHost},
		{"Sessions", testSessions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var (
	t0      = time.Date(2026, 6, 1, 10, 0, 0, 123456789, time.UTC) // nanoseconds survive a round trip
	release = "ubuntu:22.04"
)

func advisory(id string, modified time.Time, fixes ...patchwatch.Fix) patchwatch.Advisory {
	return patchwatch.Advisory{ID: id, Source: patchwatch.SourceUSN, Title: id, Severity: patchwatch.SeverityHigh,
		Published: t0.Add(-time.Hour), Modified: modified, Fixes: fixes, CVEs: []string{"CVE-2026-" + id[4:5] + "0001"}}
}

func fix(release, pkg, version string) patchwatch.Fix {
	return patchwatch.Fix{Release: release, Package: pkg, Kind: patchwatch.KindSource, FixedVersion: version}
}

func host(name, owner string, at time.Time, pkgs ...string) patchwatch.Host {
	h := patchwatch.Host{Name: name, Owner: owner, Project: "proj", Release: release, Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: at}
	for i := 0; i+1 < len(pkgs); i += 2 {
		h.Packages = append(h.Packages, patchwatch.Package{Name: pkgs[i], Version: pkgs[i+1], SourceName: pkgs[i], SourceVersion: pkgs[i+1]})
	}
	return h
}

func newService(s Storage, now *time.Time) *service.Service {
	return service.New(s, patchwatch.DefaultUrgencyRules(), func() time.Time { return *now })
}

// must returns v once t has failed on err: must(s.Host(ctx, name))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func advisoryIDs(as []patchwatch.Advisory) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func findingIDs(fs []patchwatch.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Advisory)
	}
	return out
}

func testUpsertOutcomes(t *testing.T, s Storage) {
	ctx := context.Background()
	a := advisory("USN-1-1", t0, fix(release, "openssl", "3.0.2-0ubuntu1.1"))
	steps := []struct {
		name string
		adv  []patchwatch.Advisory
		want []store.Outcome
	}{
		{"insert", []patchwatch.Advisory{a}, []store.Outcome{store.Inserted}},
		{"same again", []patchwatch.Advisory{a}, []store.Outcome{store.Unchanged}},
		{"newer replaces", []patchwatch.Advisory{advisory("USN-1-1", t0.Add(time.Nanosecond), fix(release, "openssl", "3.0.2-0ubuntu1.2"))}, []store.Outcome{store.Updated}},
		{"older ignored", []patchwatch.Advisory{advisory("USN-1-1", t0, fix(release, "openssl", "1.0"))}, []store.Outcome{store.Stale}},
		{"one commit, same ID twice", []patchwatch.Advisory{advisory("USN-2-1", t0), advisory("USN-2-1", t0.Add(time.Hour))}, []store.Outcome{store.Inserted, store.Updated}},
	}
	for _, st := range steps {
		got, err := s.UpsertAdvisories(ctx, st.adv)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !slices.Equal(got, st.want) {
			t.Fatalf("%s: outcomes %v, want %v", st.name, got, st.want)
		}
	}
	stored := must(s.Advisory(ctx, "USN-1-1"))(t)
	if stored.Fixes[0].FixedVersion != "3.0.2-0ubuntu1.2" || !stored.Modified.Equal(t0.Add(time.Nanosecond)) {
		t.Fatalf("stored copy %+v, want the newer one", stored)
	}
	if n := must(s.CountAdvisories(ctx))(t); n != 2 {
		t.Fatalf("%d advisories, want 2", n)
	}
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{{ID: "bad"}}); err == nil {
		t.Fatal("an invalid advisory was stored")
	}
	var walked []string
	check(t, s.EachAdvisory(ctx, func(a patchwatch.Advisory) error { walked = append(walked, a.ID); return nil }))
	if !slices.Equal(walked, []string{"USN-1-1", "USN-2-1"}) {
		t.Fatalf("walk %v", walked)
	}
	stop := errors.New("stop")
	if err := s.EachAdvisory(ctx, func(patchwatch.Advisory) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("walk error %v, want fn's", err)
	}
}

func testFixIndex(t *testing.T, s Storage) {
	ctx := context.Background()
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{
		advisory("USN-1-1", t0, fix(release, "openssl", "3"), fix("ubuntu:24.04", "openssl", "3")),
		advisory("USN-2-1", t0, fix(release, "curl", "8")),
		advisory("USN-3-1", t0, fix("debian:12", "curl", "8")),
	}))(t)
	got := advisoryIDs(must(s.AdvisoriesFor(ctx, release, []string{"openssl", "curl", "absent"}))(t))
	if !slices.Equal(got, []string{"USN-1-1", "USN-2-1"}) {
		t.Fatalf("AdvisoriesFor = %v", got)
	}
	// An update that drops a fix drops its index entry.
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{advisory("USN-1-1", t0.Add(time.Hour), fix("ubuntu:24.04", "openssl", "3"))}))(t)
	if got := advisoryIDs(must(s.AdvisoriesFor(ctx, release, []string{"openssl"}))(t)); len(got) != 0 {
		t.Fatalf("dropped fix still indexed: %v", got)
	}
	if !must(s.HasRelease(ctx, "debian:12"))(t) || must(s.HasRelease(ctx, "debian:11"))(t) {
		t.Fatal("HasRelease wrong")
	}
	if got := must(s.Releases(ctx))(t); !slices.Equal(got, []string{"debian:12", release, "ubuntu:24.04"}) {
		t.Fatalf("Releases = %v", got)
	}
}

func testCommitFeedCursor(t *testing.T, s Storage) {
	ctx := context.Background()
	if c := must(s.Cursor(ctx, "usn"))(t); c != nil {
		t.Fatalf("cursor of a new feed %q, want nil", c)
	}
	must(s.CommitFeed(ctx, "usn", []patchwatch.Advisory{advisory("USN-1-1", t0)}, []byte("etag-1")))(t)
	if c := must(s.Cursor(ctx, "usn"))(t); string(c) != "etag-1" {
		t.Fatalf("cursor %q", c)
	}
	// A failed commit keeps the cursor where it was.
	if _, err := s.CommitFeed(ctx, "usn", []patchwatch.Advisory{{ID: "bad"}}, []byte("etag-2")); err == nil {
		t.Fatal("invalid advisory committed")
	}
	if c := must(s.Cursor(ctx, "usn"))(t); string(c) != "etag-1" {
		t.Fatalf("cursor moved to %q on a failed commit", c)
	}
	// No feed name: cursors untouched.
	must(s.CommitFeed(ctx, "", []patchwatch.Advisory{advisory("USN-2-1", t0)}, []byte("x")))(t)
	if c := must(s.Cursor(ctx, ""))(t); c != nil {
		t.Fatalf("empty feed got a cursor %q", c)
	}
}

// testReportFindingsInStep: a report through the service stores the host,
// its finding records, read models and events together; a later report
// that installs the fix resolves them everywhere.
func testReportFindingsInStep(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{
		advisory("USN-1-1", t0, fix(release, "openssl", "3.0.2-2")),
		advisory("USN-2-1", t0, fix(release, "curl", "8.0-2")),
	}))(t)
	h := host("vm1", "Alice@example.org", now, "openssl", "3.0.2-1", "curl", "8.0-1", "bash", "5.1-1")
	events := must(svc.PutHost(ctx, h))(t)
	if len(events) != 2 || events[0].Kind != patchwatch.EventOpened {
		t.Fatalf("events %+v, want two opened", events)
	}
	rec := must(s.HostRecord(ctx, "vm1"))(t)
	if len(rec.Findings) != 2 || rec.Owner != "Alice@example.org" || rec.Packages != 3 || !rec.ReportedAt.Equal(now) {
		t.Fatalf("record %+v", rec)
	}
	if got := findingIDs(must(s.HostFindings(ctx, "vm1"))(t)); !slices.Equal(got, []string{"USN-1-1", "USN-2-1"}) {
		t.Fatalf("HostFindings = %v", got)
	}
	if got := must(s.HostsWithAdvisories(ctx, []string{"USN-2-1"}))(t); !slices.Equal(got, []string{"vm1"}) {
		t.Fatalf("HostsWithAdvisories = %v", got)
	}
	details := must(s.FindingDetails(ctx, []store.HostAdvisory{{Host: "vm1", Advisory: "USN-2-1"}, {Host: "vm9", Advisory: "USN-2-1"}, {Host: "vm1", Advisory: "USN-1-1"}}))(t)
	if got := findingIDs(details); !slices.Equal(got, []string{"USN-2-1", "USN-1-1"}) {
		t.Fatalf("FindingDetails = %v, want in the order asked", got)
	}
	pending := must(s.PendingEvents(ctx))(t)
	if len(pending) != 2 || pending[0].Owner != "Alice@example.org" || pending[0].Project != "proj" || pending[0].Seq >= pending[1].Seq {
		t.Fatalf("pending events %+v", pending)
	}
	// The fix for curl installed.
	now = t0.Add(time.Hour)
	h = host("vm1", "Alice@example.org", now, "openssl", "3.0.2-1", "curl", "8.0-2", "bash", "5.1-1")
	events = must(svc.PutHost(ctx, h))(t)
	if len(events) != 1 || events[0].Kind != patchwatch.EventResolved || events[0].Advisory != "USN-2-1" {
		t.Fatalf("events %+v, want USN-2-1 resolved", events)
	}
	if got := must(s.HostsWithAdvisories(ctx, []string{"USN-2-1"}))(t); len(got) != 0 {
		t.Fatalf("resolved finding still indexed on %v", got)
	}
	if got := findingIDs(must(s.HostFindings(ctx, "vm1"))(t)); !slices.Equal(got, []string{"USN-1-1"}) {
		t.Fatalf("HostFindings = %v", got)
	}
	records := must(s.FindingRecords(ctx, "vm1"))(t)
	if len(records) != 2 || records[1].Advisory != "USN-2-1" || records[1].Open() || !records[1].ResolvedAt.Equal(now) {
		t.Fatalf("records %+v, want USN-2-1 resolved at %v", records, now)
	}
	if !records[0].FirstSeen.Equal(t0) {
		t.Fatalf("first seen %v, want %v", records[0].FirstSeen, t0)
	}
	if got := must(s.FindingRecords(ctx, ""))(t); len(got) != 2 {
		t.Fatalf("all records %d, want 2", len(got))
	}
	if len(must(s.PendingEvents(ctx))(t)) != 3 {
		t.Fatal("resolved event not queued")
	}
	// The same report again changes nothing.
	if events := must(svc.PutHost(ctx, h))(t); len(events) != 0 {
		t.Fatalf("repeated report: events %+v", events)
	}
	if n := must(s.CountHosts(ctx))(t); n != 1 {
		t.Fatalf("%d hosts", n)
	}
	stored := must(s.Host(ctx, "vm1"))(t)
	if len(stored.Packages) != 3 || !stored.ReportedAt.Equal(now) {
		t.Fatalf("stored host %+v", stored)
	}
}

// testHostIndexAndRematch: a new advisory finds the hosts it concerns
// through the host index, and the service's rematch commits their findings.
func testHostIndexAndRematch(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	for i := range 5 {
		pkg := "zlib"
		if i%2 == 1 {
			pkg = "xz"
		}
		must(svc.PutHost(ctx, host(fmt.Sprintf("vm%d", i), "ops", now, pkg, "1.0-1")))(t)
	}
	got := must(s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: release, Package: "xz"}, {Release: "debian:12", Package: "zlib"}}))(t)
	if !slices.Equal(got, []string{"vm1", "vm3"}) {
		t.Fatalf("HostsWithPackages = %v", got)
	}
	// A host whose inventory changes is re-indexed.
	must(svc.PutHost(ctx, host("vm1", "ops", now, "zlib", "1.0-1")))(t)
	got = must(s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: release, Package: "xz"}}))(t)
	if !slices.Equal(got, []string{"vm3"}) {
		t.Fatalf("after re-index HostsWithPackages = %v", got)
	}
	a := advisory("USN-9-1", t0, fix(release, "zlib", "1.0-2"))
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{a}))(t)
	must(svc.Rematch(ctx, []patchwatch.Advisory{a}))(t)
	if got := must(s.HostsWithAdvisories(ctx, []string{"USN-9-1"}))(t); !slices.Equal(got, []string{"vm0", "vm1", "vm2", "vm4"}) {
		t.Fatalf("after rematch HostsWithAdvisories = %v", got)
	}
	page := must(s.HostsAfter(ctx, "vm1", 2))(t)
	if len(page) != 2 || page[0].Name != "vm2" || page[1].Name != "vm3" {
		t.Fatalf("HostsAfter = %v", page)
	}
}

func testOwnerWalk(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	for i := range 1100 { // more than a page of any implementation
		owner := "Team-A@example.org"
		if i%3 == 0 {
			owner = "b@example.org"
		}
		h := host(fmt.Sprintf("vm%04d", i), owner, now, "bash", "5.1-1")
		check(t, s.PutHost(ctx, h, nil))
		if i == 0 {
			must(svc.PutHost(ctx, h))(t)
		}
	}
	walk := func(owner, after string, limit int) []string {
		var out []string
		check(t, s.EachHostRecord(ctx, owner, after, func(r *patchwatch.HostRecord) error {
			if len(out) == limit {
				return store.ErrStop
			}
			out = append(out, r.Name)
			return nil
		}))
		return out
	}
	if got := walk("", "", -1); len(got) != 1100 || !slices.IsSorted(got) {
		t.Fatalf("walk of all: %d hosts, sorted %v", len(got), slices.IsSorted(got))
	}
	if got := walk("team-a@EXAMPLE.org", "", -1); len(got) != 733 || got[0] != "vm0001" {
		t.Fatalf("owner walk: %d hosts, first %v", len(got), got[:1])
	}
	if got := walk("b@example.org", "vm0003", 2); !slices.Equal(got, []string{"vm0006", "vm0009"}) {
		t.Fatalf("owner walk after vm0003: %v", got)
	}
	if got := walk("", "vm1097", -1); !slices.Equal(got, []string{"vm1098", "vm1099"}) {
		t.Fatalf("walk after vm1097: %v", got)
	}
	// The records of named hosts: more than a page of names, one of
	// them unknown, in the order given; ErrStop ends the reading.
	var names []string
	for i := 0; i < 1100; i += 2 {
		names = append(names, fmt.Sprintf("vm%04d", i))
	}
	names = slices.Insert(names, 1, "vm0001x")
	named := func(limit int) []string {
		var out []string
		check(t, s.EachHostRecordOf(ctx, names, func(r *patchwatch.HostRecord) error {
			if len(out) == limit {
				return store.ErrStop
			}
			out = append(out, r.Name)
			return nil
		}))
		return out
	}
	if got := named(-1); len(got) != 550 || got[0] != "vm0000" || got[1] != "vm0002" || got[549] != "vm1098" || !slices.IsSorted(got) {
		t.Fatalf("records of named hosts: %d, from %v", len(got), got[:min(3, len(got))])
	}
	if got := named(2); !slices.Equal(got, []string{"vm0000", "vm0002"}) {
		t.Fatalf("records of named hosts, stopped after two: %v", got)
	}
	// An owner change moves the host out of the old owner's index.
	must(svc.PutHost(ctx, host("vm0000", "Team-A@example.org", now, "bash", "5.1-1")))(t)
	if got := walk("b@example.org", "", 1); got[0] != "vm0003" {
		t.Fatalf("owner walk after a change of owner: %v", got)
	}
}

func testSyncBatchSkipsNewer(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	must(svc.PutHost(ctx, host("vm1", "ops", now, "zlib", "1.0-1")))(t)
	must(svc.PutHost(ctx, host("vm2", "ops", now, "zlib", "1.0-1")))(t)
	a := advisory("USN-9-1", t0, fix(release, "zlib", "1.0-2"))
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{a}))(t)
	old := host("vm1", "ops", now, "zlib", "1.0-1")
	// vm1 reports again before the batch evaluated from its old report lands.
	now = t0.Add(time.Minute)
	must(svc.PutHost(ctx, host("vm1", "ops", now, "zlib", "1.0-2")))(t)
	f := patchwatch.Finding{Host: "vm1", Advisory: "USN-9-1", Source: patchwatch.SourceUSN, Title: "x", Severity: patchwatch.SeverityHigh, Urgency: patchwatch.UrgencyHigh, Status: patchwatch.StatusUpdate}
	g := f
	g.Host = "vm2"
	before := len(must(s.PendingEvents(ctx))(t))
	check(t, s.SyncBatch(ctx, []store.Evaluation{
		{Host: old, Findings: []patchwatch.Finding{f}},
		{Host: host("vm2", "ops", t0, "zlib", "1.0-1"), Findings: []patchwatch.Finding{g}},
		{Host: host("gone", "ops", t0, "zlib", "1.0-1"), Findings: []patchwatch.Finding{g}},
	}, now))
	if events := must(s.PendingEvents(ctx))(t)[before:]; len(events) != 1 || events[0].Host != "vm2" || events[0].Kind != patchwatch.EventOpened {
		t.Fatalf("events queued %+v, want vm2's only", events)
	}
	if got := must(s.HostsWithAdvisories(ctx, []string{"USN-9-1"}))(t); !slices.Equal(got, []string{"vm2"}) {
		t.Fatalf("HostsWithAdvisories = %v", got)
	}
	if _, err := s.HostRecord(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a gone host got a record: %v", err)
	}
}

func testWithdraw(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{
		advisory("USN-1-1", t0, fix(release, "zlib", "1.0-2")),
		advisory("USN-2-1", t0.Add(2*time.Hour), fix(release, "zlib", "1.0-3")),
	}))(t)
	must(svc.PutHost(ctx, host("vm1", "ops", now, "zlib", "1.0-1")))(t)
	before := len(must(s.PendingEvents(ctx))(t))
	now = t0.Add(time.Hour)
	removed := must(s.WithdrawAdvisories(ctx, "usn", []store.Withdrawal{
		{ID: "USN-1-1", At: now}, {ID: "USN-2-1", At: now}, {ID: "USN-404-1"},
	}, []byte("c1"), now))(t)
	if got := advisoryIDs(removed); !slices.Equal(got, []string{"USN-1-1"}) {
		t.Fatalf("removed %v, want USN-1-1 (USN-2-1 was modified after)", got)
	}
	if _, err := s.Advisory(ctx, "USN-1-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("withdrawn advisory still stored: %v", err)
	}
	if got := advisoryIDs(must(s.AdvisoriesFor(ctx, release, []string{"zlib"}))(t)); !slices.Equal(got, []string{"USN-2-1"}) {
		t.Fatalf("fix index after withdrawal %v", got)
	}
	if got := findingIDs(must(s.HostFindings(ctx, "vm1"))(t)); !slices.Equal(got, []string{"USN-2-1"}) {
		t.Fatalf("open findings %v", got)
	}
	rec := must(s.HostRecord(ctx, "vm1"))(t)
	if len(rec.Findings) != 1 || rec.Findings[0].Advisory != "USN-2-1" {
		t.Fatalf("record briefs %+v", rec.Findings)
	}
	var withdrawn patchwatch.FindingRecord
	for _, r := range must(s.FindingRecords(ctx, "vm1"))(t) {
		if r.Advisory == "USN-1-1" {
			withdrawn = r
		}
	}
	if withdrawn.ResolvedBy != store.ResolvedWithdrawn || !withdrawn.ResolvedAt.Equal(now) {
		t.Fatalf("withdrawn record %+v", withdrawn)
	}
	events := must(s.PendingEvents(ctx))(t)
	if len(events) != before+1 || events[len(events)-1].Kind != patchwatch.EventResolved || events[len(events)-1].Project != "proj" {
		t.Fatalf("events %+v", events[before:])
	}
	if c := must(s.Cursor(ctx, "usn"))(t); string(c) != "c1" {
		t.Fatalf("cursor %q", c)
	}
}

// testOldestPendingEvent: the oldest pending event is the first of
// PendingEvents, also once part of the events queued with it, or all of
// them, are consumed; with none pending there is none.
func testOldestPendingEvent(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	if _, ok, err := s.OldestPendingEvent(ctx); err != nil || ok {
		t.Fatalf("an oldest event with none queued (%v)", err)
	}
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{advisory("USN-1-1", t0, fix(release, "zlib", "1.0-2")), advisory("USN-2-1", t0, fix(release, "curl", "8.0-2"))}))(t)
	must(svc.PutHost(ctx, host("vm1", "ops", now, "zlib", "1.0-1", "curl", "8.0-1")))(t)
	now = t0.Add(time.Minute)
	must(svc.PutHost(ctx, host("vm2", "dev", now, "zlib", "1.0-1")))(t)
	for want := 3; want > 0; want-- {
		pending := must(s.PendingEvents(ctx))(t)
		if len(pending) != want {
			t.Fatalf("%d events pending, want %d", len(pending), want)
		}
		oldest, ok, err := s.OldestPendingEvent(ctx)
		check(t, err)
		if !ok || oldest.Seq != pending[0].Seq || oldest.Host != pending[0].Host || oldest.Advisory != pending[0].Advisory || !oldest.At.Equal(pending[0].At) || oldest.Owner != pending[0].Owner {
			t.Fatalf("oldest event %+v (%v), want %+v", oldest, ok, pending[0])
		}
		check(t, s.CommitNotify(ctx, store.NotifyBatch{Consumed: []uint64{pending[0].Seq}}))
	}
	if e, ok, err := s.OldestPendingEvent(ctx); err != nil || ok {
		t.Fatalf("oldest event %+v with all consumed (%v)", e, err)
	}
}

func testNotifyOutbox(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{advisory("USN-1-1", t0, fix(release, "zlib", "1.0-2"))}))(t)
	must(svc.PutHost(ctx, host("vm1", "ops", now, "zlib", "1.0-1")))(t)
	events := must(s.PendingEvents(ctx))(t)
	if len(events) != 1 {
		t.Fatalf("events %+v", events)
	}
	d1 := patchwatch.Delivery{ID: "d1", Kind: "alert", Channel: "email", Target: "ops@example.org", Subject: "s", Text: "t", CreatedAt: t0, NextAt: t0}
	d2 := d1
	d2.ID, d2.CreatedAt = "d0", t0.Add(time.Second)
	check(t, s.CommitNotify(ctx, store.NotifyBatch{
		Consumed:   []uint64{events[0].Seq},
		Deliveries: []patchwatch.Delivery{d2, d1},
		Notified:   map[[2]string]time.Time{{"vm1", "USN-1-1"}: t0},
		Meta:       map[string][]byte{"digest:ops": []byte("2026-06-01")},
	}))
	if got := must(s.PendingEvents(ctx))(t); len(got) != 0 {
		t.Fatalf("consumed events still pending: %+v", got)
	}
	ds := must(s.Deliveries(ctx))(t)
	if len(ds) != 2 || ds[0].ID != "d1" || ds[1].ID != "d0" {
		t.Fatalf("outbox %+v, want oldest first", ds)
	}
	if n := must(s.Notified(ctx))(t); !n[[2]string{"vm1", "USN-1-1"}].Equal(t0) {
		t.Fatalf("notified %v", n)
	}
	if m := must(s.NotifyMeta(ctx, "digest:ops"))(t); string(m) != "2026-06-01" {
		t.Fatalf("meta %q", m)
	}
	if m := must(s.NotifyMeta(ctx, "unset"))(t); m != nil {
		t.Fatalf("unset meta %q", m)
	}
	d1.Attempts, d1.LastError, d1.SendingAt = 1, "421 try later", t0
	check(t, s.PutDelivery(ctx, d1))
	check(t, s.DeleteDelivery(ctx, "d0"))
	ds = must(s.Deliveries(ctx))(t)
	if len(ds) != 1 || ds[0].Attempts != 1 || !ds[0].SendingAt.Equal(t0) {
		t.Fatalf("outbox %+v", ds)
	}
}

func testKEVAndUrgencies(t *testing.T, s Storage) {
	ctx := context.Background()
	check(t, s.ReplaceKEV(ctx, []patchwatch.KEVEntry{{CVE: "CVE-1"}, {CVE: "CVE-2"}}, "kev", []byte("k1")))
	check(t, s.ReplaceKEV(ctx, []patchwatch.KEVEntry{{CVE: "CVE-2"}, {CVE: "CVE-3"}}, "kev", []byte("k2")))
	got := must(s.KEV(ctx, []string{"CVE-1", "CVE-2", "CVE-3"}))(t)
	if len(got) != 2 || got["CVE-1"].CVE != "" || got["CVE-3"].CVE != "CVE-3" {
		t.Fatalf("KEV %v, want the second catalog only", got)
	}
	if c := must(s.Cursor(ctx, "kev"))(t); string(c) != "k2" {
		t.Fatalf("cursor %q", c)
	}
	check(t, s.ReplaceUrgencies(ctx, []patchwatch.CVEUrgency{{Release: "debian:12", Package: "zlib", CVE: "CVE-1", Urgency: "low"}}, "", nil))
	check(t, s.ReplaceUrgencies(ctx, []patchwatch.CVEUrgency{
		{Release: "debian:12", Package: "zlib", CVE: "CVE-2", Urgency: "high"},
		{Release: "debian:12", Package: "xz", CVE: "CVE-3", Urgency: "medium"},
	}, "tracker", []byte("t")))
	if u := must(s.Urgencies(ctx, "debian:12", "zlib"))(t); len(u) != 1 || u["CVE-2"] != "high" {
		t.Fatalf("urgencies %v", u)
	}
}

func testSilences(t *testing.T, s Storage) {
	ctx := context.Background()
	check(t, s.PutSilence(ctx, patchwatch.Silence{ID: "s2", Target: "advisory", Value: "USN-1-1", Scope: "host", ScopeValue: "vm1", Reason: "r", Expires: t0}))
	check(t, s.PutSilence(ctx, patchwatch.Silence{ID: "s1", Target: "cve", Value: "CVE-1", Scope: "fleet", Reason: "r", Expires: t0}))
	check(t, s.PutSilence(ctx, patchwatch.Silence{ID: "s2", Target: "advisory", Value: "USN-1-1", Scope: "host", ScopeValue: "vm2", Reason: "r2", Expires: t0}))
	got := must(s.Silences(ctx))(t)
	if len(got) != 2 || got[0].ID != "s1" || got[1].ScopeValue != "vm2" {
		t.Fatalf("silences %+v", got)
	}
	check(t, s.DeleteSilence(ctx, "s1"))
	if err := s.DeleteSilence(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of a missing silence: %v", err)
	}
}

func testBinaryMap(t *testing.T, s Storage) {
	ctx := context.Background()
	trackingSources := func(release string, binaries []string) map[string][]string {
		t.Helper()
		tracking, _, err := s.BinarySources(ctx, release, binaries)
		if err != nil {
			t.Fatal(err)
		}
		return tracking
	}
	h := patchwatch.Host{Name: "vm1", Release: "debian:12", Family: patchwatch.FamilyDebian, SourceInfo: true, Packages: []patchwatch.Package{
		{Name: "libssl3", Version: "3.0.15-1~deb12u1", SourceName: "openssl", SourceVersion: "3.0.15-1~deb12u1"},
		{Name: "gcc", Version: "4:12.2.0-3", SourceName: "gcc-defaults", SourceVersion: "1.203"},
		{Name: "openssl", Version: "3.0.15-1~deb12u1", SourceName: "openssl", SourceVersion: "3.0.15-1~deb12u1"},
	}}
	fresh := must(s.LearnBinarySources(ctx, &h))(t)
	if !slices.Equal(fresh, []store.ReleasePackage{{Release: "debian:12", Package: "libssl3"}}) {
		t.Fatalf("fresh %v, want libssl3 (gcc does not track)", fresh)
	}
	if again := must(s.LearnBinarySources(ctx, &h))(t); len(again) != 0 {
		t.Fatalf("known pairs learnt again: %v", again)
	}
	src := trackingSources("debian:12", []string{"libssl3", "gcc", "bash"})
	if len(src) != 1 || !slices.Equal(src["libssl3"], []string{"openssl"}) {
		t.Fatalf("BinarySources %v", src)
	}
	if _, untracked, err := s.BinarySources(ctx, "debian:12", []string{"gcc"}); err != nil || !slices.Equal(untracked["gcc"], []string{"gcc-defaults"}) {
		t.Fatalf("untracked BinarySources %v, %v", untracked, err)
	}
	built := must(s.BinariesBuilt(ctx, []store.ReleasePackage{{Release: "debian:12", Package: "openssl"}, {Release: "debian:12", Package: "gcc-defaults"}}))(t)
	if !slices.Equal(built, []store.ReleasePackage{{Release: "debian:12", Package: "gcc"}, {Release: "debian:12", Package: "libssl3"}}) {
		t.Fatalf("BinariesBuilt %v", built)
	}
	// An advisory that lists a source's binaries teaches them too.
	a := advisory("USN-5-1", t0, patchwatch.Fix{Release: release, Package: "zlib", Kind: patchwatch.KindSource, FixedVersion: "1", Binaries: []string{"zlib1g", "zlib"}})
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{a}))(t)
	if src := trackingSources(release, []string{"zlib1g"}); !slices.Equal(src["zlib1g"], []string{"zlib"}) {
		t.Fatalf("advisory pairs %v", src)
	}
	// One inventory showing a pair untracked retires it.
	h.Packages[0].Version = "3.0.15-1~deb12u1+custom"
	must(s.LearnBinarySources(ctx, &h))(t)
	if src := trackingSources("debian:12", []string{"libssl3"}); len(src) != 0 {
		t.Fatalf("untracked pair still used: %v", src)
	}
}

func testEvaluationState(t *testing.T, s Storage) {
	ctx := context.Background()
	if why := must(s.EvaluationPending(ctx))(t); why != "" {
		t.Fatalf("new store pending %q", why)
	}
	check(t, s.SetEvaluationPending(ctx, "rules changed"))
	if why := must(s.EvaluationPending(ctx))(t); why != "rules changed" {
		t.Fatalf("pending %q", why)
	}
	check(t, s.SetEvaluationPending(ctx, ""))
	if why := must(s.EvaluationPending(ctx))(t); why != "" {
		t.Fatalf("cleared pending %q", why)
	}
	if r := must(s.EvaluatedReleases(ctx))(t); r != nil {
		t.Fatalf("never recorded: %v", r)
	}
	check(t, s.SetEvaluatedReleases(ctx, nil))
	if r := must(s.EvaluatedReleases(ctx))(t); r == nil || len(r) != 0 {
		t.Fatalf("recorded empty: %#v", r)
	}
	check(t, s.SetEvaluatedReleases(ctx, []string{"debian:12", release}))
	if r := must(s.EvaluatedReleases(ctx))(t); !slices.Equal(r, []string{"debian:12", release}) {
		t.Fatalf("evaluated releases %v", r)
	}
}

func testFeedStatus(t *testing.T, s Storage) {
	ctx := context.Background()
	check(t, s.PutFeedStatus(ctx, patchwatch.FeedStatus{Feed: "usn", LastSuccess: t0}))
	check(t, s.PutFeedStatus(ctx, patchwatch.FeedStatus{Feed: "dsa"}))
	check(t, s.PutFeedStatus(ctx, patchwatch.FeedStatus{Feed: "usn", LastSuccess: t0.Add(time.Hour)}))
	got := must(s.FeedStatuses(ctx))(t)
	if len(got) != 2 || got[0].Feed != "dsa" || !got[1].LastSuccess.Equal(t0.Add(time.Hour)) {
		t.Fatalf("feed statuses %+v", got)
	}
}

func testNotFound(t *testing.T, s Storage) {
	ctx := context.Background()
	if _, err := s.Host(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Host: %v", err)
	}
	if _, err := s.Advisory(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Advisory: %v", err)
	}
	if _, err := s.HostRecord(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("HostRecord: %v", err)
	}
	if got := must(s.HostsWithPackages(ctx, nil))(t); len(got) != 0 {
		t.Errorf("HostsWithPackages of nothing: %v", got)
	}
}

// testUrgencyIndex: the hosts listed under each urgency are those whose
// record has an open finding at it, through reports, fixes, withdrawals
// and removals.
func testUrgencyIndex(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	critical := advisory("USN-1-1", t0, fix(release, "zlib", "1.0-2"))
	critical.Severity = patchwatch.SeverityCritical
	low := advisory("USN-2-1", t0, fix(release, "curl", "2.0-2"))
	low.Severity = patchwatch.SeverityLow
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{critical, low}))(t)
	for _, h := range []patchwatch.Host{
		host("vm1", "ann", now, "zlib", "1.0-1"),
		host("vm2", "ann", now, "curl", "2.0-1"),
		host("vm3", "bob", now, "zlib", "1.0-1", "curl", "2.0-1"),
		host("vm4", "bob", now, "zlib", "1.0-2"),
	} {
		must(svc.PutHost(ctx, h))(t)
	}
	agree := func(when string, wantCritical []string) {
		t.Helper()
		byUrgency := map[patchwatch.Urgency][]string{}
		check(t, s.EachHostRecord(ctx, "", "", func(r *patchwatch.HostRecord) error {
			seen := map[patchwatch.Urgency]bool{}
			for _, b := range r.Findings {
				if !seen[b.Urgency] {
					seen[b.Urgency] = true
					byUrgency[b.Urgency] = append(byUrgency[b.Urgency], r.Name)
				}
			}
			return nil
		}))
		for u := patchwatch.UrgencyLow; u <= patchwatch.UrgencyCritical; u++ {
			got := must(s.HostsWithUrgency(ctx, []patchwatch.Urgency{u}))(t)
			if !slices.Equal(got, byUrgency[u]) {
				t.Fatalf("%s: index lists %v under %s, records %v", when, got, u, byUrgency[u])
			}
		}
		if got := must(s.HostsWithUrgency(ctx, []patchwatch.Urgency{patchwatch.UrgencyCritical}))(t); !slices.Equal(got, wantCritical) {
			t.Fatalf("%s: critical hosts %v, want %v", when, got, wantCritical)
		}
		all := must(s.HostsWithUrgency(ctx, []patchwatch.Urgency{patchwatch.UrgencyLow, patchwatch.UrgencyMedium, patchwatch.UrgencyHigh, patchwatch.UrgencyCritical}))(t)
		if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
			t.Fatalf("%s: hosts of any urgency %v: not sorted and distinct", when, all)
		}
	}
	agree("reported", []string{"vm1", "vm3"})
	now = t0.Add(time.Hour)
	must(svc.PutHost(ctx, host("vm1", "ann", now, "zlib", "1.0-2")))(t)
	agree("vm1 fixed", []string{"vm3"})
	must(s.WithdrawAdvisories(ctx, "usn", []store.Withdrawal{{ID: "USN-1-1", At: now}}, []byte("c"), now))(t)
	agree("USN-1-1 withdrawn", nil)
	must(s.RemoveHost(ctx, "vm2", now))(t)
	agree("vm2 removed", nil)
	if got := must(s.HostsWithUrgency(ctx, []patchwatch.Urgency{patchwatch.UrgencyLow, patchwatch.UrgencyMedium}))(t); slices.Contains(got, "vm2") {
		t.Fatalf("a removed host is still indexed: %v", got)
	}
}

// testSourcesKnown: a host's record says whether every package named its
// source (the binary map can teach it nothing), on every write path.
func testSourcesKnown(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	full := host("vm1", "ann", now, "zlib", "1.0-1")
	binaryOnly := host("vm2", "ann", now, "zlib", "1.0-1", "curl", "2.0-1")
	binaryOnly.Packages[1].SourceName, binaryOnly.Packages[1].SourceVersion, binaryOnly.SourceInfo = "", "", false
	must(svc.PutHost(ctx, full))(t)
	must(svc.PutHost(ctx, binaryOnly))(t)
	check(t, svc.ImportHosts(ctx, []patchwatch.Host{host("vm3", "bob", now, "zlib", "1.0-1")}))
	for name, want := range map[string]bool{"vm1": true, "vm2": false, "vm3": true} {
		if rec := must(s.HostRecord(ctx, name))(t); rec.SourcesKnown != want {
			t.Errorf("%s: SourcesKnown %v, want %v", name, rec.SourcesKnown, want)
		}
	}
}
