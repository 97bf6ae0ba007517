package bolt_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if _, err := s.Session(ctx, []byte("none")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a session before any was stored: %v", err)
	}
	if n, err := s.DeleteSessions(ctx, now); n != 0 || err != nil {
		t.Fatalf("sweep with no bucket: %d %v", n, err)
	}
	put := func(key, tokenID string, expires time.Time) {
		t.Helper()
		if err := s.PutSession(ctx, []byte(key), patchwatch.Session{TokenID: tokenID, Kind: patchwatch.TokenOwner, CSRF: "c", Expires: expires}); err != nil {
			t.Fatal(err)
		}
	}
	put("live", "tok-a", now.Add(time.Hour))
	put("expired", "tok-a", now.Add(-time.Second))
	put("revoked", "tok-b", now.Add(time.Hour))
	put("link", "tok-a", now.Add(time.Hour))
	got, err := s.Session(ctx, []byte("live"))
	if err != nil || got.TokenID != "tok-a" || got.CSRF != "c" {
		t.Fatalf("session %+v %v", got, err)
	}
	if taken, err := s.TakeSession(ctx, []byte("link")); err != nil || taken.TokenID != "tok-a" {
		t.Fatalf("take %+v %v", taken, err)
	}
	if _, err := s.TakeSession(ctx, []byte("link")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a link taken twice: %v", err)
	}
	if n, err := s.DeleteSessions(ctx, now, "tok-b"); n != 2 || err != nil {
		t.Fatalf("sweep removed %d (%v), want the expired and the revoked token's", n, err)
	}
	for key, want := range map[string]bool{"live": true, "expired": false, "revoked": false} {
		if _, err := s.Session(ctx, []byte(key)); (err == nil) != want {
			t.Errorf("session %s present=%v, want %v", key, err == nil, want)
		}
	}
	// Revoking a token ends its sessions.
	if err := s.PutToken(ctx, []byte("hash-a"), patchwatch.Token{ID: "tok-a", Kind: patchwatch.TokenOwner, Owner: "alice@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "tok-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, []byte("live")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a revoked token's session survives: %v", err)
	}
	put("live", "tok-c", now.Add(time.Hour))
	if err := s.DeleteSession(ctx, []byte("live")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, []byte("live")); err != nil {
		t.Fatalf("signing out twice: %v", err)
	}
	// A read-only open of a database without the bucket finds no sessions.
	s.Close()
	ro, err := bolt.Open(path, bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Session(ctx, []byte("live")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read-only: %v", err)
	}
}
