package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

func putToken(t *testing.T, s Storage, tk patchwatch.Token) patchwatch.Token {
	t.Helper()
	check(t, s.PutToken(context.Background(), []byte("hash-"+tk.ID), tk))
	return tk
}

func enroll(s Storage, host string, by patchwatch.Token, id string, now time.Time) (patchwatch.Enrollment, patchwatch.Token, error) {
	return s.Enroll(context.Background(), store.Enroll{Host: host, By: by, Now: now,
		HostToken: patchwatch.Token{ID: id, Kind: patchwatch.TokenHost, Host: host, CreatedAt: now}, HostTokenHash: []byte("hash-" + id)})
}

func testTokens(t *testing.T, s Storage) {
	ctx := context.Background()
	putToken(t, s, patchwatch.Token{ID: "tok-b", Kind: patchwatch.TokenAdmin, CreatedAt: t0.Add(time.Second)})
	putToken(t, s, patchwatch.Token{ID: "tok-a", Kind: patchwatch.TokenEnroll, Owner: "a@example.org", CreatedAt: t0})
	putToken(t, s, patchwatch.Token{ID: "tok-h1", Kind: patchwatch.TokenHost, Host: "vm1", CreatedAt: t0})
	putToken(t, s, patchwatch.Token{ID: "tok-h2", Kind: patchwatch.TokenHost, Host: "vm1", CreatedAt: t0})
	putToken(t, s, patchwatch.Token{ID: "tok-h3", Kind: patchwatch.TokenHost, Host: "vm2", CreatedAt: t0})
	if tk := must(s.TokenByHash(ctx, []byte("hash-tok-a")))(t); tk.ID != "tok-a" || !tk.CreatedAt.Equal(t0) {
		t.Fatalf("TokenByHash %+v", tk)
	}
	if _, err := s.TokenByHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	tk, hash, err := s.TokenByID(ctx, "tok-b")
	if err != nil || tk.Kind != patchwatch.TokenAdmin || string(hash) != "hash-tok-b" {
		t.Fatalf("TokenByID %+v %q %v", tk, hash, err)
	}
	all := must(s.Tokens(ctx))(t)
	if len(all) != 5 || all[len(all)-1].ID != "tok-b" {
		t.Fatalf("Tokens %+v, want oldest first", all)
	}
	check(t, s.RevokeToken(ctx, "tok-a"))
	if err := s.RevokeToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	check(t, s.RevokeHostTokens(ctx, "vm1"))
	for id, want := range map[string]bool{"tok-a": true, "tok-h1": true, "tok-h2": true, "tok-h3": false, "tok-b": false} {
		tk, _, err := s.TokenByID(ctx, id)
		if err != nil || tk.Revoked != want {
			t.Errorf("%s revoked %v (%v), want %v", id, tk.Revoked, err, want)
		}
	}
	// A revoked token read by its hash says so.
	if tk := must(s.TokenByHash(ctx, []byte("hash-tok-h1")))(t); !tk.Revoked || tk.Host != "vm1" {
		t.Fatalf("revoked host token %+v", tk)
	}
}

func testEnrollClaims(t *testing.T, s Storage) {
	ctx := context.Background()
	alice := putToken(t, s, patchwatch.Token{ID: "tok-a", Kind: patchwatch.TokenEnroll, Owner: "alice@example.org", Project: "research", CreatedAt: t0})
	bob := putToken(t, s, patchwatch.Token{ID: "tok-b", Kind: patchwatch.TokenEnroll, Owner: "bob@example.org", CreatedAt: t0})
	admin := putToken(t, s, patchwatch.Token{ID: "tok-admin", Kind: patchwatch.TokenAdmin, CreatedAt: t0})
	claim, host, err := enroll(s, "vm1", alice, "tok-h1", t0)
	if err != nil || claim.Owner != alice.Owner || host.Project != "research" || claim.Enrollments != 1 {
		t.Fatalf("first enrollment: %+v %+v %v", claim, host, err)
	}
	if _, _, err := enroll(s, "vm1", bob, "tok-h2", t0); !errors.Is(err, patchwatch.ErrHostClaimed) {
		t.Fatalf("bob's enrollment: %v, want ErrHostClaimed", err)
	}
	if _, _, err := s.TokenByID(ctx, "tok-h2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused enrollment stored its host token: %v", err)
	}
	claim, _, err = enroll(s, "vm1", admin, "tok-h3", t0.Add(time.Hour))
	if err != nil || claim.Owner != alice.Owner || claim.Enrollments != 2 || claim.LastEnrollToken != "tok-admin" {
		t.Fatalf("admin re-enrollment: %+v %v", claim, err)
	}
	if tk, _, _ := s.TokenByID(ctx, "tok-h1"); !tk.Revoked {
		t.Fatal("re-enrollment left the earlier host token live")
	}
	if _, _, err := enroll(s, "vm-new", admin, "tok-h4", t0); !errors.Is(err, store.ErrAdminEnroll) {
		t.Fatalf("admin first enrollment: %v, want ErrAdminEnroll", err)
	}
	if tk, _, _ := s.TokenByID(ctx, "tok-a"); tk.Used != 1 {
		t.Fatalf("enroll token used %d times, want 1", tk.Used)
	}
	if got := must(s.Enrollment(ctx, "vm1"))(t); got.Owner != alice.Owner || !got.EnrolledAt.Equal(t0) {
		t.Fatalf("Enrollment %+v", got)
	}
	// A host reported by hand before enrollment belongs to its owner.
	now := t0
	must(newService(s, &now).PutHost(ctx, host2("vm2", "bob@example.org")))(t)
	if claim, _, err := enroll(s, "vm2", alice, "tok-h5", t0); !errors.Is(err, patchwatch.ErrHostClaimed) {
		t.Fatalf("claim of bob's reported host by alice: %+v %v", claim, err)
	}
}

func host2(name, owner string) patchwatch.Host { return host(name, owner, t0, "bash", "5.1-1") }

// testEnrollConcurrent: an enroll token of one use, spent by many
// enrollments at once, enrolls exactly one host.
func testEnrollConcurrent(t *testing.T, s Storage) {
	once := putToken(t, s, patchwatch.Token{ID: "tok-once", Kind: patchwatch.TokenEnroll, Owner: "a@example.org", Uses: 1, CreatedAt: t0})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, usedUp := 0, 0
	for i := range 8 {
		wg.Go(func() {
			_, _, err := enroll(s, fmt.Sprintf("vm%d", i), once, fmt.Sprintf("tok-h%d", i), t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, patchwatch.ErrTokenUsedUp):
				usedUp++
			default:
				t.Errorf("enrollment %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || usedUp != 7 {
		t.Fatalf("%d enrolled, %d used up; want 1 and 7", ok, usedUp)
	}
}

func testRemoveHost(t *testing.T, s Storage) {
	ctx := context.Background()
	now := t0
	svc := newService(s, &now)
	must(s.UpsertAdvisories(ctx, []patchwatch.Advisory{advisory("USN-1-1", t0, fix(release, "zlib", "1.0-2"))}))(t)
	alice := putToken(t, s, patchwatch.Token{ID: "tok-a", Kind: patchwatch.TokenEnroll, Owner: "ops", CreatedAt: t0})
	must(svc.PutHost(ctx, host("vm1", "ops", now, "zlib", "1.0-1")))(t)
	if _, _, err := enroll(s, "vm1", alice, "tok-h1", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := enroll(s, "vm-enrolled-only", alice, "tok-h2", t0); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(time.Hour)
	events := must(s.RemoveHost(ctx, "vm1", now))(t)
	if len(events) != 1 || events[0].Kind != patchwatch.EventResolved {
		t.Fatalf("events %+v", events)
	}
	if _, err := s.Host(ctx, "vm1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed host: %v", err)
	}
	if _, err := s.HostRecord(ctx, "vm1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed host's record: %v", err)
	}
	if got := must(s.HostsWithAdvisories(ctx, []string{"USN-1-1"}))(t); len(got) != 0 {
		t.Fatalf("removed host still has findings: %v", got)
	}
	if got := must(s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: release, Package: "zlib"}}))(t); len(got) != 0 {
		t.Fatalf("removed host still indexed: %v", got)
	}
	recs := must(s.FindingRecords(ctx, "vm1"))(t)
	if len(recs) != 1 || recs[0].Open() {
		t.Fatalf("history of the removed host %+v, want kept and resolved", recs)
	}
	if tk, _, _ := s.TokenByID(ctx, "tok-h1"); !tk.Revoked {
		t.Fatal("removed host's token still live")
	}
	if _, err := s.Enrollment(ctx, "vm1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed host's claim: %v", err)
	}
	must(s.RemoveHost(ctx, "vm-enrolled-only", now))(t)
	if _, err := s.Enrollment(ctx, "vm-enrolled-only"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("released claim: %v", err)
	}
	if _, err := s.RemoveHost(ctx, "vm1", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second removal: %v", err)
	}
}
