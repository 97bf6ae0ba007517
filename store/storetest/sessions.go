package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// testSessions: console sessions are kept by hash, a one-time link is
// taken once, expired sessions and those of a revoked token go.
func testSessions(t *testing.T, s Storage) {
	ctx := context.Background()
	putToken(t, s, patchwatch.Token{ID: "tok-o", Kind: patchwatch.TokenOwner, Owner: "a@example.org", CreatedAt: t0})
	live := patchwatch.Session{TokenID: "tok-o", Kind: patchwatch.TokenOwner, Owner: "a@example.org", CSRF: "c1", CreatedAt: t0, Expires: t0.Add(12 * time.Hour)}
	old := live
	old.CSRF, old.Expires = "c2", t0.Add(time.Hour)
	link := live
	link.CSRF, link.OneTime = "c3", true
	check(t, s.PutSession(ctx, []byte("h-live"), live))
	check(t, s.PutSession(ctx, []byte("h-old"), old))
	check(t, s.PutSession(ctx, []byte("h-link"), link))
	if got := must(s.Session(ctx, []byte("h-live")))(t); got.CSRF != "c1" || !got.Expires.Equal(live.Expires) {
		t.Fatalf("Session = %+v", got)
	}
	if _, err := s.Session(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	if got := must(s.TakeSession(ctx, []byte("h-link")))(t); !got.OneTime {
		t.Fatalf("TakeSession = %+v", got)
	}
	if _, err := s.TakeSession(ctx, []byte("h-link")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a one-time link taken twice: %v", err)
	}
	if n := must(s.DeleteSessions(ctx, t0.Add(2*time.Hour)))(t); n != 1 {
		t.Fatalf("DeleteSessions removed %d, want the expired one", n)
	}
	check(t, s.RevokeToken(ctx, "tok-o"))
	if _, err := s.Session(ctx, []byte("h-live")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a revoked token's session lives on: %v", err)
	}
	check(t, s.DeleteSession(ctx, []byte("h-live"))) // signing out twice is no error
}
