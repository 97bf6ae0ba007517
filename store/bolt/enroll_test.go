package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

func openStore(tb testing.TB) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func putToken(tb testing.TB, s *bolt.Store, t patchwatch.Token) patchwatch.Token {
	tb.Helper()
	if err := s.PutToken(context.Background(), []byte("hash-"+t.ID), t); err != nil {
		tb.Fatal(err)
	}
	return t
}

func enroll(s *bolt.Store, host string, by patchwatch.Token, id string, now time.Time) (patchwatch.Enrollment, patchwatch.Token, error) {
	return s.Enroll(context.Background(), store.Enroll{Host: host, By: by, Now: now,
		HostToken: patchwatch.Token{ID: id, Kind: patchwatch.TokenHost, Host: host, CreatedAt: now}, HostTokenHash: []byte("hash-" + id)})
}

func TestEnrollClaims(t *testing.T) {
	s := openStore(t)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	alice := putToken(t, s, patchwatch.Token{ID: "tok-a", Kind: patchwatch.TokenEnroll, Owner: "alice@example.org", Project: "research", CreatedAt: now})
	bob := putToken(t, s, patchwatch.Token{ID: "tok-b", Kind: patchwatch.TokenEnroll, Owner: "bob@example.org", Project: "bobs", CreatedAt: now})
	admin := putToken(t, s, patchwatch.Token{ID: "tok-admin", Kind: patchwatch.TokenAdmin, CreatedAt: now})

	claim, host, err := enroll(s, "vm1", alice, "tok-h1", now)
	if err != nil || claim.Owner != alice.Owner || host.Owner != alice.Owner || host.Project != "research" {
		t.Fatalf("first enrollment: %+v %+v %v", claim, host, err)
	}
	if _, _, err := enroll(s, "vm1", bob, "tok-h2", now); !errors.Is(err, patchwatch.ErrHostClaimed) {
		t.Fatalf("bob's enrollment: %v, want ErrHostClaimed", err)
	}
	if tk, _, _ := s.TokenByID(context.Background(), "tok-h1"); tk.Revoked {
		t.Fatal("a refused enrollment revoked the owner's host token")
	}
	if _, _, err := s.TokenByID(context.Background(), "tok-h2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused enrollment stored its host token: %v", err)
	}
	claim, host, err = enroll(s, "vm1", admin, "tok-h3", now.Add(time.Hour))
	if err != nil || claim.Owner != alice.Owner || claim.Enrollments != 2 || claim.LastEnrollToken != "tok-admin" || host.Project != "research" {
		t.Fatalf("admin re-enrollment: %+v %v", claim, err)
	}
	if tk, _, _ := s.TokenByID(context.Background(), "tok-h1"); !tk.Revoked {
		t.Fatal("re-enrollment left the old host token live")
	}
	if _, _, err := enroll(s, "new", admin, "tok-h4", now); !errors.Is(err, store.ErrAdminEnroll) {
		t.Fatalf("admin first enrollment: %v", err)
	}
	// Removing a host, even one that never reported, frees its name and
	// cuts its token off.
	if _, err := s.RemoveHost(context.Background(), "vm1", now); err != nil {
		t.Fatalf("remove of a never-reported host: %v", err)
	}
	if tk, _, _ := s.TokenByID(context.Background(), "tok-h3"); !tk.Revoked {
		t.Error("a removed host's token stays live")
	}
	if _, _, err := enroll(s, "vm1", bob, "tok-h5", now); err != nil {
		t.Errorf("bob enrolling the freed name: %v", err)
	}
}

func TestEnrollHonoursStoredOwner(t *testing.T) {
	s := openStore(t)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// A host imported by hand, never enrolled.
	h := patchwatch.Host{Name: "legacy", Owner: "alice@example.org", Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian,
		Packages: []patchwatch.Package{{Name: "bash", Version: "5.1-6ubuntu1"}}, ReportedAt: now}
	if err := s.PutHost(context.Background(), h, nil); err != nil {
		t.Fatal(err)
	}
	bob := putToken(t, s, patchwatch.Token{ID: "tok-b", Kind: patchwatch.TokenEnroll, Owner: "bob@example.org", CreatedAt: now})
	if _, _, err := enroll(s, "legacy", bob, "tok-h", now); !errors.Is(err, patchwatch.ErrHostClaimed) {
		t.Fatalf("bob enrolling alice's imported host: %v", err)
	}
	if _, err := s.RemoveHost(context.Background(), "legacy", now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := enroll(s, "legacy", bob, "tok-h", now); err != nil {
		t.Fatalf("enrolling a removed host's name: %v", err)
	}
	alice := putToken(t, s, patchwatch.Token{ID: "tok-a", Kind: patchwatch.TokenEnroll, Owner: "alice@example.org", CreatedAt: now})
	if _, _, err := enroll(s, "legacy", alice, "tok-h2", now); !errors.Is(err, patchwatch.ErrHostClaimed) {
		t.Fatalf("alice after bob claimed the freed name: %v", err)
	}
}

func TestEnrollUseLimitAndBinding(t *testing.T) {
	s := openStore(t)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	once := putToken(t, s, patchwatch.Token{ID: "tok-1", Kind: patchwatch.TokenEnroll, Owner: "a@example.org", Uses: 1, CreatedAt: now})
	if _, _, err := enroll(s, "vm1", once, "tok-h1", now); err != nil {
		t.Fatal(err)
	}
	// The caller's copy still says Used 0: the stored count decides.
	if _, _, err := enroll(s, "vm2", once, "tok-h2", now); !errors.Is(err, patchwatch.ErrTokenUsedUp) {
		t.Fatalf("second use of a one-use token: %v", err)
	}
	bound := putToken(t, s, patchwatch.Token{ID: "tok-db", Kind: patchwatch.TokenEnroll, Owner: "a@example.org", Host: "db", CreatedAt: now})
	if _, _, err := enroll(s, "web", bound, "tok-h3", now); !errors.Is(err, patchwatch.ErrTokenWrongHost) {
		t.Fatalf("bound token on another host: %v", err)
	}
	if _, _, err := enroll(s, "db", bound, "tok-h4", now); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkEnroll re-enrolls one host among many others' tokens: with the
// host index the cost does not grow with the fleet's tokens.
func BenchmarkEnroll(b *testing.B) {
	for _, others := range []int{100, 20000} {
		b.Run(fmt.Sprintf("tokens=%d", others), func(b *testing.B) {
			s := openStore(b)
			now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			by := putToken(b, s, patchwatch.Token{ID: "tok-e", Kind: patchwatch.TokenEnroll, Owner: "a@example.org", CreatedAt: now})
			for i := range others {
				if _, _, err := enroll(s, fmt.Sprintf("other-%d", i), by, fmt.Sprintf("tok-o%d", i), now); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, _, err := enroll(s, "vm", by, fmt.Sprintf("tok-vm%d", i), now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
