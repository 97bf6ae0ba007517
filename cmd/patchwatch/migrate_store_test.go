package main

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
	"github.com/patchwatch/patchwatch/store/storetest"
)

// fillBolt writes a database through the paths serve uses: reports with
// findings that open and resolve, enrollment, silences, a notifier step,
// feeds with cursors, KEV, urgencies and feed status.
func fillBolt(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 11, 25, 8, 0, 0, 123456789, time.UTC)
	svc := service.New(s, patchwatch.DefaultUrgencyRules(), func() time.Time { return now })
	fixes := func(pkg, v string) []patchwatch.Fix {
		return []patchwatch.Fix{{Release: "debian:12", Package: pkg, Kind: patchwatch.KindSource, FixedVersion: v}}
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.CommitFeed(ctx, "dsa", []patchwatch.Advisory{
		{ID: "DSA-1-1", Source: patchwatch.SourceDSA, Title: "openssl", Severity: patchwatch.SeverityHigh, Published: now, Modified: now, CVEs: []string{"CVE-2026-1"}, Fixes: fixes("openssl", "3.0.15-1~deb12u2")},
		{ID: "DSA-2-1", Source: patchwatch.SourceDSA, Title: "zlib", Severity: patchwatch.SeverityMedium, Published: now, Modified: now, Fixes: fixes("zlib", "1:1.2.13.dfsg-1+deb12u1")},
	}, []byte(`{"etag":"x"}`))
	check(err)
	check(s.ReplaceKEV(ctx, []patchwatch.KEVEntry{{CVE: "CVE-2026-1", DateAdded: "2026-11-20"}}, "kev", []byte("k")))
	check(s.ReplaceUrgencies(ctx, []patchwatch.CVEUrgency{{Release: "debian:12", Package: "openssl", CVE: "CVE-2026-1", Urgency: "high"}}, "tracker", []byte("t")))
	check(s.PutFeedStatus(ctx, patchwatch.FeedStatus{Feed: "dsa", LastSuccess: now, Advisories: 2}))
	enroll := patchwatch.Token{ID: "tok-e", Kind: patchwatch.TokenEnroll, Owner: "ops@example.org", CreatedAt: now}
	check(s.PutToken(ctx, []byte("hash-e"), enroll))
	for i := range 3 {
		name := fmt.Sprintf("db%d", i)
		_, _, err := s.Enroll(ctx, store.Enroll{Host: name, By: enroll, Now: now, HostTokenHash: []byte("hash-" + name),
			HostToken: patchwatch.Token{ID: "tok-" + name, Kind: patchwatch.TokenHost, CreatedAt: now}})
		check(err)
		h := patchwatch.Host{Name: name, Owner: "ops@example.org", Project: "core", Release: "debian:12", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: now,
			Packages: []patchwatch.Package{
				{Name: "libssl3", Version: "3.0.15-1~deb12u1", SourceName: "openssl", SourceVersion: "3.0.15-1~deb12u1"},
				{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", SourceName: "zlib", SourceVersion: "1:1.2.13.dfsg-1"},
			}}
		_, err = svc.PutHost(ctx, h)
		check(err)
		if i == 0 { // the zlib fix installed: a resolved finding in the history
			now = now.Add(time.Hour)
			h.ReportedAt = now
			h.Packages[1].Version, h.Packages[1].SourceVersion = "1:1.2.13.dfsg-1+deb12u1", "1:1.2.13.dfsg-1+deb12u1"
			_, err = svc.PutHost(ctx, h)
			check(err)
		}
	}
	check(s.PutSilence(ctx, patchwatch.Silence{ID: "sil-1", Target: "advisory", Value: "DSA-2-1", Scope: "host", ScopeValue: "db2", Reason: "not exposed", Expires: now.Add(720 * time.Hour), CreatedAt: now}))
	events, err := s.PendingEvents(ctx)
	check(err)
	check(s.CommitNotify(ctx, store.NotifyBatch{Consumed: []uint64{events[0].Seq},
		Deliveries: []patchwatch.Delivery{{ID: "del-1", Kind: "alert", Channel: "email", Target: "ops@example.org", Subject: "s", Text: "t", CreatedAt: now, NextAt: now}},
		Notified:   map[[2]string]time.Time{{"db0", "DSA-1-1"}: now}, Meta: map[string][]byte{"owner_digest:ops@example.org": []byte("2026-11-25")}}))
	check(s.SetEvaluatedReleases(ctx, []string{"debian:12"}))
}

// snapshot reads everything the product reads, through the contract.
func snapshot(t *testing.T, s storetest.Storage) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	get := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = v
	}
	var advisories []patchwatch.Advisory
	get("advisories", advisories, s.EachAdvisory(ctx, func(a patchwatch.Advisory) error { advisories = append(advisories, a); return nil }))
	out["advisories"] = advisories
	hosts, err := s.HostsAfter(ctx, "", 100)
	get("hosts", hosts, err)
	v1, err := s.FindingRecords(ctx, "")
	get("findings", v1, err)
	var records []patchwatch.HostRecord
	err = s.EachHostRecord(ctx, "OPS@example.org", "", func(r *patchwatch.HostRecord) error { records = append(records, *r); return nil })
	get("records", records, err)
	for _, h := range hosts {
		v, err := s.HostFindings(ctx, h.Name)
		get("open "+h.Name, v, err)
		e, err := s.Enrollment(ctx, h.Name)
		get("enrollment "+h.Name, e, err)
	}
	v2, err := s.HostsWithAdvisories(ctx, []string{"DSA-1-1"})
	get("with DSA-1-1", v2, err)
	v3, err := s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: "debian:12", Package: "openssl"}, {Release: "debian:12", Package: "zlib1g"}})
	get("indexed", v3, err)
	v4, err := s.AdvisoriesFor(ctx, "debian:12", []string{"openssl", "zlib"})
	get("fix index", v4, err)
	v5, err := s.HostStates(ctx)
	get("states", v5, err)
	v6, err := s.Tokens(ctx)
	get("tokens", v6, err)
	v7, err := s.TokenByHash(ctx, []byte("hash-db1"))
	get("token by hash", v7, err)
	v8, err := s.Silences(ctx)
	get("silences", v8, err)
	v9, err := s.PendingEvents(ctx)
	get("events", v9, err)
	v10, err := s.Deliveries(ctx)
	get("outbox", v10, err)
	v11, err := s.Notified(ctx)
	get("notified", v11, err)
	v12, err := s.NotifyMeta(ctx, "owner_digest:ops@example.org")
	get("notify meta", v12, err)
	for _, feed := range []string{"dsa", "kev", "tracker"} {
		c, err := s.Cursor(ctx, feed)
		get("cursor "+feed, c, err)
	}
	v13, err := s.KEV(ctx, []string{"CVE-2026-1"})
	get("kev", v13, err)
	v14, err := s.Urgencies(ctx, "debian:12", "openssl")
	get("urgencies", v14, err)
	v15, err := s.FeedStatuses(ctx)
	get("feed status", v15, err)
	v16, v16u, err := s.BinarySources(ctx, "debian:12", []string{"libssl3", "zlib1g"})
	get("binary map", [2]map[string][]string{v16, v16u}, err)
	v17, err := s.EvaluatedReleases(ctx)
	get("evaluated", v17, err)
	v18, err := s.EvaluationPending(ctx)
	get("pending", v18, err)
	return out
}

func TestMigrateStore(t *testing.T) {
	dsn := pgtest.DSN(t)
	path := filepath.Join(t.TempDir(), "pw.db")
	fillBolt(t, path)
	r := run(t, "", "migrate-store", "--from", "bolt:"+path, "--to", "postgres:"+dsn)
	if r.err != nil || !strings.Contains(r.stdout, "every count verified") || !strings.Contains(r.stdout, "findings         6") {
		t.Fatalf("migrate-store: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	src, err := bolt.Open(path, bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := pgtest.OpenDSN(t, dsn)
	want, got := snapshot(t, src), snapshot(t, dst)
	for k, w := range want {
		if !reflect.DeepEqual(w, got[k]) {
			t.Errorf("%s differs:\nbolt     %+v\npostgres %+v", k, w, got[k])
		}
	}
	// The copy goes on: a report's events follow the copied ones.
	ctx := context.Background()
	h, err := dst.Host(ctx, "db1")
	if err != nil {
		t.Fatal(err)
	}
	h.ReportedAt = h.ReportedAt.Add(24 * time.Hour)
	h.Packages[0].Version, h.Packages[0].SourceVersion = "3.0.15-1~deb12u2", "3.0.15-1~deb12u2"
	if _, err := service.New(dst, patchwatch.DefaultUrgencyRules(), nil).PutHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	before := want["events"].([]patchwatch.NotifyEvent)
	after, err := dst.PendingEvents(ctx)
	if err != nil || len(after) != len(before)+1 || after[len(after)-1].Seq <= before[len(before)-1].Seq {
		t.Fatalf("events after a report on the copy: %+v (%v)", after, err)
	}
	// A second copy would mix two databases.
	if r := run(t, "", "migrate-store", "--from", "bolt:"+path, "--to", "postgres:"+dsn); r.err == nil || !strings.Contains(r.err.Error(), "not empty") {
		t.Fatalf("second migrate-store: %v", r.err)
	}
}
