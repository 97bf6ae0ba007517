package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDigestCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	run(t, db, "import", "--quiet", "../../samples/usn")
	if r := run(t, db, "host", "import", "--name", "web1", "--owner", "alice@example.org", "--os-release", "../../samples/hosts/focal-bluefield.os-release",
		"../../samples/hosts/focal-bluefield.dpkg-query.tsv"); r.err != nil {
		t.Fatal(r.err)
	}
	r := run(t, db, "digest", "--admin", "--dry-run")
	if r.err != nil || !strings.Contains(r.stdout, "Subject: [patchwatch] fleet digest: 1 hosts, 2 open findings") {
		t.Fatalf("admin digest: %v\n%s", r.err, r.stdout)
	}
	html := filepath.Join(dir, "digest.html")
	r = run(t, db, "digest", "--owner", "alice@example.org", "--html", html)
	if r.err != nil || !strings.Contains(r.stdout, "USN-6000-1") {
		t.Fatalf("owner digest: %v\n%s", r.err, r.stdout)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "<html>") {
		t.Errorf("html file: %v", err)
	}
	if r := run(t, db, "digest"); !isExit(r.err, ExitUsage) {
		t.Errorf("digest without a target: %v", r.err)
	}
	// Without any channel configured, --send says so.
	if r := run(t, db, "digest", "--admin", "--send"); r.err == nil || !strings.Contains(r.err.Error(), "nobody to send it to") {
		t.Errorf("send without channels: %v", r.err)
	}
	if r := run(t, db, "notifications", "list", "--format", "json"); r.err != nil || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("empty outbox: %v %s", r.err, r.stdout)
	}
	if r := run(t, db, "notify", "test", "--channel", "email", "--to", "a@example.org"); r.err == nil || !strings.Contains(r.err.Error(), "no email channel") {
		t.Errorf("notify test without email: %v", r.err)
	}
}
