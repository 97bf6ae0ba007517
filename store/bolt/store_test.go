package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

func openTemp(t *testing.T) (*bolt.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pw.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func advisory(id string, modified time.Time, fixes ...patchwatch.Fix) patchwatch.Advisory {
	return patchwatch.Advisory{
		ID: id, Source: patchwatch.SourceUSN, Title: id, Published: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Modified: modified, Fixes: fixes,
	}
}

func fix(release, pkg, version string) patchwatch.Fix {
	return patchwatch.Fix{Release: release, Package: pkg, Kind: patchwatch.KindSource, FixedVersion: version}
}

func TestUpsertOutcomes(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	t1 := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	a := advisory("USN-1-1", t1, fix("ubuntu:22.04", "openssl", "3.0.2-0ubuntu1.1"))
	steps := []struct {
		name string
		adv  patchwatch.Advisory
		want store.Outcome
	}{
		{"insert", a, store.Inserted},
		{"same again", a, store.Unchanged},
		{"newer replaces", advisory("USN-1-1", t2, fix("ubuntu:24.04", "openssl", "3.0.13-0ubuntu3.1")), store.Updated},
		{"older ignored", advisory("USN-1-1", t1, fix("ubuntu:20.04", "openssl", "1.1.1f-1ubuntu2.1")), store.Stale},
	}
	for _, st := range steps {
		got, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{st.adv})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got[0] != st.want {
			t.Fatalf("%s: outcome %s, want %s", st.name, got[0], st.want)
		}
	}
	n, _ := s.CountAdvisories(ctx)
	if n != 1 {
		t.Errorf("stored %d advisories, want 1", n)
	}
	// The index follows the replacement: the 22.04 fix is gone, the 24.04 one is there.
	if got, _ := s.AdvisoriesFor(ctx, "ubuntu:22.04", []string{"openssl"}); len(got) != 0 {
		t.Errorf("stale index entry: %+v", got)
	}
	got, err := s.AdvisoriesFor(ctx, "ubuntu:24.04", []string{"openssl", "libssl3"})
	if err != nil || len(got) != 1 || got[0].Fixes[0].FixedVersion != "3.0.13-0ubuntu3.1" {
		t.Errorf("AdvisoriesFor = %+v, %v", got, err)
	}
	// A package name that is a prefix of another must not match it.
	s.UpsertAdvisories(ctx, []patchwatch.Advisory{advisory("USN-2-1", t1, fix("ubuntu:24.04", "openssl-ibmca", "1"))})
	got, _ = s.AdvisoriesFor(ctx, "ubuntu:24.04", []string{"openssl"})
	if len(got) != 1 {
		t.Errorf("prefix leak: %d advisories", len(got))
	}
}

func TestUpsertRejectsInvalidAtomically(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	good := advisory("USN-1-1", time.Now(), fix("ubuntu:22.04", "a", "1"))
	bad := advisory("", time.Now())
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{good, bad}); err == nil {
		t.Fatal("invalid advisory accepted")
	}
	if n, _ := s.CountAdvisories(ctx); n != 0 {
		t.Errorf("half a batch stored: %d", n)
	}
}

func TestCommitFeedCursor(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	if c, err := s.Cursor(ctx, "usn"); err != nil || c != nil {
		t.Fatalf("fresh cursor = %q, %v", c, err)
	}
	_, err := s.CommitFeed(ctx, "usn", []patchwatch.Advisory{advisory("", time.Now())}, []byte("v2"))
	if err == nil {
		t.Fatal("bad advisory committed")
	}
	if c, _ := s.Cursor(ctx, "usn"); c != nil {
		t.Errorf("cursor advanced past a failed commit: %q", c)
	}
	if _, err := s.CommitFeed(ctx, "usn", nil, []byte("v3")); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Cursor(ctx, "usn"); string(c) != "v3" {
		t.Errorf("cursor = %q", c)
	}
}

func TestHostsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	h := patchwatch.Host{Name: "web1", Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian,
		Packages: []patchwatch.Package{{Name: "libssl3", Version: "3.0.2-0ubuntu1", SourceName: "openssl"}}}
	if err := s.PutHost(ctx, h, []store.ReleasePackage{{Release: "ubuntu:22.04", Package: "openssl"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutHost(ctx, patchwatch.Host{Name: "bad"}, nil); err == nil {
		t.Error("invalid host stored")
	}
	s.Close()
	s2, err := bolt.Open(path, bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Host(ctx, "web1")
	if err != nil || got.Packages[0].SourceName != "openssl" {
		t.Fatalf("Host = %+v, %v", got, err)
	}
	if _, err := s2.Host(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing host: %v", err)
	}
	hosts, _ := s2.Hosts(ctx)
	if len(hosts) != 1 {
		t.Errorf("Hosts = %d", len(hosts))
	}
}

func TestOpenLocked(t *testing.T) {
	_, path := openTemp(t)
	_, err := bolt.Open(path, bolt.Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if got := err.Error(); got == "" || !strings.Contains(got, "database is in use by another process") {
		t.Errorf("message %q", got)
	}
}
