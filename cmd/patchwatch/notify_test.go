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

// TestNotifyTestKeepsWebhookSecret is the campaign's case: a webhook URL
// written with an upper-case scheme came back whole in the error of
// `notify test`.
func TestNotifyTestKeepsWebhookSecret(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	hook := filepath.Join(dir, "webhook")
	// Port 1 on loopback refuses: the send fails with the URL in Go's error.
	os.WriteFile(hook, []byte("HTTP://127.0.0.1:1/services/T0AAA/B0BBB/Sekr3tPathPart\n"), 0o600)
	cfg := filepath.Join(dir, "patchwatch.yaml")
	os.WriteFile(cfg, []byte("db: "+db+"\nnotify:\n  enabled: true\n  slack:\n    webhook_url_file: "+hook+"\n"), 0o600)
	r := run(t, db, "notify", "test", "--config", cfg, "--channel", "slack", "--to", "#ops")
	if r.err == nil || !strings.Contains(r.err.Error(), "[redacted]") {
		t.Fatalf("notify test to a closed port: %v", r.err)
	}
	for _, out := range []string{r.err.Error(), r.stdout, r.stderr} {
		if strings.Contains(strings.ToLower(out), "sekr3t") {
			t.Errorf("the webhook's secret path leaked: %q", out)
		}
	}
}
