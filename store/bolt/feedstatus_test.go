package bolt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store/bolt"
)

func TestSourceAndKEVStats(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	var batch []patchwatch.Advisory
	for i, src := range []patchwatch.Source{patchwatch.SourceUSN, patchwatch.SourceUSN, patchwatch.SourceDSA} {
		a := advisory(fmt.Sprintf("%s-%d", src, i), day(1), fix("ubuntu:22.04", "openssl", "3.0.2-0ubuntu1.1"))
		a.Source, a.Published = src, day(10+i)
		batch = append(batch, a)
	}
	if _, err := s.CommitFeed(ctx, "usn", batch, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.SourceStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u := got[patchwatch.SourceUSN]; u.Advisories != 2 || !u.NewestPublished.Equal(day(11)) {
		t.Errorf("usn: %+v", u)
	}
	if d := got[patchwatch.SourceDSA]; d.Advisories != 1 || !d.NewestPublished.Equal(day(12)) {
		t.Errorf("dsa: %+v", d)
	}
	if err := s.ReplaceKEV(ctx, []patchwatch.KEVEntry{{CVE: "CVE-2024-1", DateAdded: "2026-11-03"}, {CVE: "CVE-2024-2", DateAdded: "2026-11-20"}}, "kev", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if k, err := s.KEVStats(ctx); err != nil || k.Advisories != 2 || !k.NewestPublished.Equal(day(20)) {
		t.Errorf("kev: %+v %v", k, err)
	}
	if err := s.PutFeedStatus(ctx, patchwatch.FeedStatus{Feed: "usn", Advisories: 2}); err != nil {
		t.Fatal(err)
	}
	if sts, err := s.FeedStatuses(ctx); err != nil || len(sts) != 1 || sts[0].Advisories != 2 {
		t.Errorf("statuses: %+v %v", sts, err)
	}
}

// BenchmarkSourceStats reads the counts the poll loop records after a
// round that stored something, over 50,000 advisories of 20 fixes each
// (about the whole history of every source).
func BenchmarkSourceStats(b *testing.B) {
	ctx := context.Background()
	s, err := bolt.Open(filepath.Join(b.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const total = 50_000
	sources := []patchwatch.Source{patchwatch.SourceUSN, patchwatch.SourceDSA, patchwatch.SourceDLA, patchwatch.SourceRHSA, patchwatch.SourceALSA, patchwatch.SourceRLSA}
	for start := 0; start < total; start += 1000 {
		batch := make([]patchwatch.Advisory, 0, 1000)
		for i := start; i < start+1000; i++ {
			a := advisory(fmt.Sprintf("ADV-%06d", i), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			a.Source = sources[i%len(sources)]
			a.Details = "A description of the kind advisories carry: several sentences about the flaw and its impact, as published upstream."
			for f := range 20 {
				a.Fixes = append(a.Fixes, fix("ubuntu:22.04", fmt.Sprintf("package-%d-%d", i, f), "1.2.3-0ubuntu0.22.04.1"))
			}
			batch = append(batch, a)
		}
		if _, err := s.CommitFeed(ctx, "", batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		stats, err := s.SourceStats(ctx)
		if err != nil || stats[patchwatch.SourceUSN].Advisories == 0 {
			b.Fatal(stats, err)
		}
	}
}

// TestSourceStatsReadsAnyLayout: an advisory stored with other spacing or
// escapes is still counted (the decoding fallback).
func TestSourceStatsReadsAnyLayout(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	a := advisory("USN-1-1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), fix("ubuntu:22.04", "openssl", "1"))
	a.Title = `a "source":"dsa" and "published":"2030-01-01T00:00:00Z" in a title`
	if _, err := s.CommitFeed(ctx, "", []patchwatch.Advisory{a}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.SourceStats(ctx)
	if err != nil || got[patchwatch.SourceUSN].Advisories != 1 || got[patchwatch.SourceDSA].Advisories != 0 ||
		!got[patchwatch.SourceUSN].NewestPublished.Equal(a.Published) {
		t.Errorf("stats %+v %v", got, err)
	}
}
