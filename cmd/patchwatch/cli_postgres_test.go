package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/smtptest"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

// TestWriteCommandsOnPostgres: every CLI command that changes the
// database works on PostgreSQL (--config with store: postgres) while a
// "serve" (a store of the test's own, holding the notifier's leader lock
// as serve does) has the database open; the bbolt file is never made.
func TestWriteCommandsOnPostgres(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := pgtest.DSN(t)
	box := smtptest.Start(t)
	cfg := writePostgresConfigWith(t, dsn, fmt.Sprintf("notify:\n  enabled: true\n  admins: {email: ops@example.org}\n  email: {host: 127.0.0.1, port: %d, tls: none, from: patchwatch@example.org}\n", box.Port))
	serve := pgtest.OpenDSN(t, dsn)
	leading := make(chan struct{})
	go serve.RunAsLeader(ctx, "notifier", 50*time.Millisecond, func(ctx context.Context) error {
		close(leading)
		<-ctx.Done()
		return nil
	})
	<-leading
	bolt := filepath.Join(t.TempDir(), "never.db")
	cli := func(args ...string) result {
		t.Helper()
		r := run(t, bolt, append(args, "--config", cfg)...)
		if r.err != nil {
			t.Fatalf("%s: %v\nstdout %s\nstderr %s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
		}
		return r
	}

	if r := cli("import", "--quiet", "../../samples/usn"); !strings.Contains(r.stdout, "imported: 5 new") {
		t.Fatalf("import:\n%s", r.stdout)
	}
	if n, err := serve.CountAdvisories(ctx); err != nil || n != 5 {
		t.Fatalf("serve sees %d advisories (%v), want 5", n, err)
	}
	cli("host", "import", "--name", "web1", "--owner", "alice@example.org", "--os-release", "../../samples/hosts/focal-bluefield.os-release",
		"../../samples/hosts/focal-bluefield.dpkg-query.tsv")
	open, err := serve.HostFindings(ctx, "web1")
	if err != nil || len(open) != 2 {
		t.Fatalf("serve sees %d open findings on web1 (%v), want 2", len(open), err)
	}

	secret := strings.TrimSpace(cli("token", "create", "--kind", "admin", "--note", "ci").stdout)
	tok, err := serve.TokenByHash(ctx, server.HashToken(secret))
	if err != nil || tok.Kind != patchwatch.TokenAdmin {
		t.Fatalf("serve does not know the new token: %+v %v", tok, err)
	}
	var tokens []patchwatch.Token
	if err := json.Unmarshal([]byte(cli("token", "list", "--format", "json").stdout), &tokens); err != nil || len(tokens) != 1 || tokens[0].ID != tok.ID {
		t.Fatalf("token list: %+v %v", tokens, err)
	}
	cli("token", "revoke", tok.ID)
	if tok, _, err = serve.TokenByID(ctx, tok.ID); err != nil || !tok.Revoked {
		t.Fatalf("token not revoked: %+v %v", tok, err)
	}

	r := cli("silence", "add", "--advisory", "USN-6000-1", "--host", "web1", "--reason", "not exposed", "--expires", "30d")
	id, _, _ := strings.Cut(r.stdout, ":")
	if sl, err := serve.Silences(ctx); err != nil || len(sl) != 1 || sl[0].ID != id {
		t.Fatalf("serve's silences %+v (%v), want %s", sl, err, id)
	}
	cli("silence", "remove", id)
	if sl, err := serve.Silences(ctx); err != nil || len(sl) != 0 {
		t.Fatalf("silence not removed: %+v %v", sl, err)
	}

	// The digest goes out through the outbox, on the relay.
	if r := cli("digest", "--admin", "--send"); !strings.Contains(r.stdout, "1 queued, 1 sent, 0 failed") {
		t.Fatalf("digest --send: %s", r.stdout)
	}
	if len(box.Messages()) != 1 {
		t.Fatalf("the relay got %d messages, want 1", len(box.Messages()))
	}
	cli("notify", "test", "--channel", "email", "--to", "alice@example.org")
	if len(box.Messages()) != 2 {
		t.Fatalf("the relay got %d messages, want 2", len(box.Messages()))
	}
	// A failed delivery in serve's outbox is listed and retried by the CLI.
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	if err := serve.PutDelivery(ctx, patchwatch.Delivery{ID: "msg-failed", Kind: "alert", Channel: "email", Target: "alice@example.org",
		Subject: "s", Text: "t", CreatedAt: now, NextAt: now, Attempts: 10, Failed: true, LastError: "550 mailbox full"}); err != nil {
		t.Fatal(err)
	}
	if r := cli("notifications", "list", "--failed"); !strings.Contains(r.stdout, "msg-failed") {
		t.Fatalf("notifications list --failed:\n%s", r.stdout)
	}
	if r := cli("notifications", "retry", "msg-failed"); !strings.Contains(r.stdout, "1 made due again: 1 sent, 0 failed") {
		t.Fatalf("notifications retry: %s", r.stdout)
	}
	if ds, err := serve.Deliveries(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("outbox after the retry: %+v %v", ds, err)
	}

	if r := cli("host", "remove", "web1"); !strings.Contains(r.stdout, "2 open findings resolved") {
		t.Fatalf("host remove: %s", r.stdout)
	}
	if _, err := serve.Host(ctx, "web1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("web1 still stored: %v", err)
	}
	if _, err := os.Stat(bolt); !os.IsNotExist(err) {
		t.Fatalf("the bbolt file was made: %v", err)
	}
}
