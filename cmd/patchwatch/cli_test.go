package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

type result struct {
	stdout, stderr string
	err            error
}

func run(t *testing.T, db string, args ...string) result {
	t.Helper()
	return runAt(t, db, time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), args...)
}

// runAt runs a command with the clock at now.
func runAt(t *testing.T, db string, now time.Time, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "PATCHWATCH_DB" {
			return db
		}
		return ""
	}, Now: func() time.Time { return now }}
	err := Run(context.Background(), env, args)
	return result{out.String(), errb.String(), err}
}

func TestEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	r := run(t, db, "import", "../../samples/usn")
	if r.err != nil {
		t.Fatalf("import: %v\n%s", r.err, r.stdout)
	}
	if !strings.Contains(r.stdout, "imported: 5 new, 0 updated, 0 unchanged, 2 stale") {
		t.Errorf("import summary:\n%s", r.stdout)
	}
	// Importing again stores nothing twice.
	if r := run(t, db, "import", "../../samples/usn"); !strings.Contains(r.stdout, "0 new, 0 updated, 5 unchanged") {
		t.Errorf("second import:\n%s", r.stdout)
	}
	r = run(t, db, "host", "import", "--name", "focal-bluefield", "--owner", "owner@example.org",
		"--os-release", "../../samples/hosts/focal-bluefield.os-release", "--kernel-release", "5.4.0-1058-bluefield",
		"../../samples/hosts/focal-bluefield.dpkg-query.tsv")
	if r.err != nil {
		t.Fatalf("host import: %v", r.err)
	}
	r = run(t, db, "outstanding", "--host", "focal-bluefield", "--format", "json")
	if r.err != nil {
		t.Fatalf("outstanding: %v", r.err)
	}
	var findings []struct {
		Host     string `json:"host"`
		Advisory string `json:"advisory"`
		Severity string `json:"severity"`
		URL      string `json:"url"`
		Command  string `json:"command"`
		Packages []struct {
			Name, Installed, Fixed string
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil {
		t.Fatalf("decode %s: %v", r.stdout, err)
	}
	if len(findings) != 2 || findings[0].Advisory != "USN-6000-1" || findings[1].Advisory != "USN-5614-1" {
		t.Fatalf("findings = %+v", findings)
	}
	w := findings[1]
	if w.Host != "focal-bluefield" || w.URL != "https://ubuntu.com/security/notices/USN-5614-1" ||
		w.Command != "sudo apt-get install --only-upgrade libwayland-client0 libwayland-cursor0 libwayland-egl1 libwayland-server0" ||
		len(w.Packages) != 4 || w.Packages[0].Installed != "1.18.0-1" || w.Packages[0].Fixed != "1.18.0-1ubuntu0.1" {
		t.Errorf("wayland finding = %+v", w)
	}
	r = run(t, db, "outstanding")
	if r.err != nil || !strings.Contains(r.stdout, "fix: sudo apt-get install --only-upgrade libwayland-client0") {
		t.Errorf("table output: %v\n%s", r.err, r.stdout)
	}
	if r := run(t, db, "outstanding", "--exit-code"); !isExit(r.err, ExitFindings) {
		t.Errorf("--exit-code: %v", r.err)
	}
	if r := run(t, db, "outstanding", "--min-severity", "critical", "--exit-code"); r.err != nil || !strings.Contains(r.stdout, "No outstanding") {
		t.Errorf("--min-severity critical: %v %s", r.err, r.stdout)
	}
	r = run(t, db, "advisory", "USN-5614-1")
	if r.err != nil || !strings.Contains(r.stdout, "affected hosts: 1") || !strings.Contains(r.stdout, "ubuntu:20.04  wayland (source)  1.18.0-1ubuntu0.1") {
		t.Errorf("advisory: %v\n%s", r.err, r.stdout)
	}
	r = run(t, db, "hosts", "--format", "json")
	if r.err != nil || !strings.Contains(r.stdout, `"outstanding": 2`) {
		t.Errorf("hosts: %v\n%s", r.err, r.stdout)
	}
}

func TestHostImportErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"missing flags", []string{"host", "import", "x"}, "needs --name"},
		{"unknown distribution", []string{"host", "import", "--name", "a", "--os-release", "testdata/README.md", "../../inventory/testdata/debian12.status"}, "testdata/README.md"},
		{"packages not a list", []string{"host", "import", "--name", "a", "--os-release", "../../samples/hosts/focal-bluefield.os-release", "../../samples/hosts/focal-bluefield.os-release"}, "../../samples/hosts/focal-bluefield.os-release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, db, tt.args...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", r.err, tt.wantErr)
			}
		})
	}
	// Nothing half-imported is left behind.
	if r := run(t, db, "hosts", "--format", "json"); r.err == nil || !strings.Contains(r.err.Error(), "does not exist yet") {
		t.Errorf("hosts after failures: %v %q", r.err, r.stdout)
	}
}

func TestDebianStatusHostHasNoUbuntuFindings(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	run(t, db, "import", "../../samples/usn")
	r := run(t, db, "host", "import", "--name", "deb12", "--os-release", "../../inventory/testdata/debian12.os-release", "../../inventory/testdata/debian12.status")
	if r.err != nil || !strings.Contains(r.stdout, "debian:12, 716 packages") {
		t.Fatalf("host import: %v %s", r.err, r.stdout)
	}
	if r := run(t, db, "outstanding", "--host", "deb12", "--format", "json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("Ubuntu notices matched a Debian host: %s", r.stdout)
	}
}

func TestUsage(t *testing.T) {
	if r := run(t, "x.db", "frobnicate"); !isExit(r.err, ExitUsage) {
		t.Errorf("unknown command: %v", r.err)
	}
	if r := run(t, "x.db", "outstanding", "--format", "xml"); !isExit(r.err, ExitUsage) {
		t.Errorf("bad format: %v", r.err)
	}
}

func isExit(err error, code int) bool {
	var e *ExitError
	return errors.As(err, &e) && e.Code == code
}

// An agent report imported by hand carries its checks; hosts --checks
// shows the fleet's standing, and a disabled check stops counting.
func TestChecksThroughCLI(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	report := `{"schema":"patchwatch.report/v1","host":{"hostname":"web1"},"owner":"alice@example.org",
"os_release":{"id":"debian","version_id":"12"},"kernel":{"release":"6.1.0-13-amd64"},"reboot":{"required":false},"package_format":"deb",
"packages":[{"name":"bash","version":"5.2.15-2+b2","source_name":"bash","source_version":"5.2.15-2"}],
"checks":[{"id":"auto-updates","status":"pass","evidence":"/etc/apt/apt.conf.d/20auto-upgrades:2: APT::Periodic::Unattended-Upgrade \"1\";"},
{"id":"no-mail-server","status":"fail","evidence":"listening: tcp 0.0.0.0:25 (exim4)","items":["tcp 0.0.0.0:25 (exim4)"]},
{"id":"host-firewall","status":"unknown","evidence":"no firewall ruleset or configuration could be read"}]}`
	file := filepath.Join(dir, "web1.json")
	os.WriteFile(file, []byte(report), 0o644)
	if r := run(t, db, "host", "import", "--report", file); r.err != nil || !strings.Contains(r.stdout, "host web1: debian:12, 1 packages") {
		t.Fatalf("host import --report: %v\n%s", r.err, r.stdout)
	}
	r := run(t, db, "hosts", "--checks")
	if r.err != nil || !regexp.MustCompile(`web1\s+alice@example.org\s+1\s+pass\s+-\s+-\s+-\s+-\s+-\s+FAIL\s+unknown`).MatchString(r.stdout) {
		t.Errorf("hosts --checks: %v\n%s", r.err, r.stdout)
	}
	r = run(t, db, "host", "show", "web1")
	for _, want := range []string{"no-mail-server  fail", "review: tcp 0.0.0.0:25 (exim4)", "No mail server listens: The cloud forbids", "fix: sudo systemctl disable --now postfix exim4"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("host show lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := run(t, db, "silence", "add", "--check", "no-such-check", "--host", "web1", "--reason", "x", "--expires", "30d"); !isExit(r.err, ExitUsage) {
		t.Errorf("unknown check: %v", r.err)
	}
	if r := run(t, db, "silence", "add", "--check", "no-mail-server", "--host", "web1", "--reason", "the project's list server", "--expires", "90d"); r.err != nil || !strings.Contains(r.stdout, "check no-mail-server disabled (host web1)") {
		t.Fatalf("silence add --check: %v %s", r.err, r.stdout)
	}
	r = run(t, db, "hosts", "--checks", "--format", "json")
	var rows []struct {
		FailingChecks []string          `json:"failing_checks"`
		Checks        int               `json:"checks"`
		CheckStatus   map[string]string `json:"check_status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 || len(rows[0].FailingChecks) != 0 || rows[0].CheckStatus["no-mail-server"] != "disabled" || rows[0].Checks != len(rows[0].CheckStatus) {
		t.Errorf("after disabling: %v %s", err, r.stdout)
	}
	if r := run(t, db, "host", "show", "web1"); !strings.Contains(r.stdout, "fail (disabled: the project's list server") {
		t.Errorf("host show after disabling:\n%s", r.stdout)
	}
}
