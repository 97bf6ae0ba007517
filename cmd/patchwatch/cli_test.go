package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
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
		"--os-release", "testdata/focal-bluefield.os-release", "--kernel-release", "5.4.0-1058-bluefield",
		"testdata/focal-bluefield.dpkg-query.tsv")
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
		{"unknown distribution", []string{"host", "import", "--name", "a", "--os-release", "testdata/README.md", "testdata/debian12.status"}, "testdata/README.md"},
		{"packages not a list", []string{"host", "import", "--name", "a", "--os-release", "testdata/focal-bluefield.os-release", "testdata/focal-bluefield.os-release"}, "testdata/focal-bluefield.os-release"},
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
	r := run(t, db, "host", "import", "--name", "deb12", "--os-release", "../../inventory/testdata/debian12.os-release", "testdata/debian12.status")
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
