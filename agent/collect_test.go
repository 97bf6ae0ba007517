package agent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/agent"
	"github.com/patchwatch/patchwatch/inventory"
)

// tree writes files under a new root directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../inventory/testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCollectDebianTree(t *testing.T) {
	root := tree(t, map[string]string{
		"etc/os-release":               read(t, "debian12.os-release"),
		"etc/debian_version":           "12.11\n",
		"etc/hostname":                 "build-host\n",
		"var/lib/dpkg/status":          read(t, "debian12.status"),
		"var/run/reboot-required":      "*** System restart required ***\n",
		"var/run/reboot-required.pkgs": "libc6\nlinux-image-6.1.0-13-amd64\n",
	})
	rep, err := agent.Collect(context.Background(), agent.Options{Root: root, KernelRelease: "6.1.0-13-amd64", KernelVersion: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Host.Hostname != "build-host" || rep.OSRelease.ID != "debian" || rep.OSRelease.DebianVersion != "12.11" || rep.Format != "deb" || len(rep.Packages) != 716 {
		t.Fatalf("report header = %+v, %d packages", rep.Host, len(rep.Packages))
	}
	if !rep.Reboot.Required || strings.Join(rep.Reboot.Packages, " ") != "libc6 linux-image-6.1.0-13-amd64" {
		t.Errorf("reboot = %+v", rep.Reboot)
	}
	// The report is what the server accepts.
	data, _ := json.Marshal(rep)
	back, err := inventory.DecodeReport(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := inventory.HostFromReport(&back, rep.Collected)
	if err != nil || h.Release != "debian:12" || !h.SourceInfo || !h.RebootRequired {
		t.Fatalf("host = %s %v %v, %v", h.Release, h.SourceInfo, h.RebootRequired, err)
	}
}

// fakeRPM writes a stand-in for rpm that checks its arguments and prints
// the real Rocky list in the recommended query's format.
func fakeRPM(t *testing.T) string {
	t.Helper()
	var out strings.Builder
	for line := range strings.Lines(read(t, "rocky-9.6-base.kiwi.packages")) {
		c := strings.Split(strings.TrimSpace(line), "|")
		if len(c) < 5 {
			continue
		}
		epoch := c[1]
		if epoch == "(none)" {
			epoch = "0"
		}
		src := c[0] + "-" + c[2] + "-" + c[3] + ".src.rpm"
		if c[0] == "gpg-pubkey" {
			src = "(none)"
		}
		out.WriteString(strings.Join([]string{c[0], epoch, c[2], c[3], c[4], src, "(none)"}, "\t") + "\n")
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "list")
	os.WriteFile(list, []byte(out.String()), 0o644)
	script := filepath.Join(dir, "rpm")
	os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = --root ] && [ \"$3\" = -qa ] && [ \"$4\" = --qf ] || { echo bad args >&2; exit 2; }\ncat "+list+"\n"), 0o755)
	return script
}

func TestCollectRockyTree(t *testing.T) {
	root := tree(t, map[string]string{"etc/os-release": read(t, "rocky-9.3.os-release"), "var/lib/rpm/": ""})
	rep, err := agent.Collect(context.Background(), agent.Options{Root: root, RPMCommand: fakeRPM(t), KernelRelease: "5.14.0-362.8.1.el9_3.x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != "rpm" || len(rep.Packages) != 145 {
		t.Fatalf("%s, %d packages", rep.Format, len(rep.Packages))
	}
	var bash inventory.ReportPackage
	for _, p := range rep.Packages {
		if p.Name == "bash" {
			bash = p
		}
	}
	if bash.Epoch == nil || *bash.Epoch != 0 || bash.SourceName != "bash" || !strings.Contains(bash.Version, "-") {
		t.Errorf("bash = %+v", bash)
	}
	h, err := inventory.HostFromReport(&rep, rep.Collected)
	if err != nil || h.Release != "rocky:9" || !h.EpochInfo {
		t.Fatalf("host: %s %v %v", h.Release, h.EpochInfo, err)
	}
}

func TestCollectErrors(t *testing.T) {
	if _, err := agent.Collect(context.Background(), agent.Options{Root: tree(t, map[string]string{"etc/hostname": "x"})}); err == nil {
		t.Error("a tree without os-release collected")
	}
	if _, err := agent.Collect(context.Background(), agent.Options{Root: tree(t, map[string]string{"etc/os-release": "ID=debian\nVERSION_ID=12\n"})}); err == nil ||
		!strings.Contains(err.Error(), "no dpkg status file or rpm database") {
		t.Errorf("no package database: %v", err)
	}
}

func TestReportEnrollsWithMetadataToken(t *testing.T) {
	var enrolled, reports int
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/enroll":
			if r.Header.Get("Authorization") != "Bearer pwt_e_tok-1_secret" {
				w.WriteHeader(401)
				return
			}
			enrolled++
			w.WriteHeader(201)
			w.Write([]byte(`{"host":"vm","token":"pwt_h_tok-2_host"}`))
		case "/api/v1/reports":
			if r.Header.Get("Authorization") != "Bearer pwt_h_tok-2_host" || r.Header.Get("Content-Encoding") != "gzip" {
				w.WriteHeader(401)
				w.Write([]byte(`{"error":"bad token"}`))
				return
			}
			reports++
			if reports == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(503)
				return
			}
			w.WriteHeader(202)
		}
	}))
	defer api.Close()
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"uuid":"6f1e","name":"vm","project_id":"p1","meta":{"patchwatch_enroll_token":"pwt_e_tok-1_secret"}}`))
	}))
	defer meta.Close()
	ctx := context.Background()
	m, err := agent.FetchMetadata(ctx, meta.URL)
	if err != nil || m.Meta["patchwatch_enroll_token"] == "" {
		t.Fatalf("metadata: %+v %v", m, err)
	}
	c, err := agent.NewClient(api.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Sleep = func(context.Context, time.Duration) error { return nil }
	token, err := c.Enroll(ctx, m.Meta["patchwatch_enroll_token"], inventory.ReportHost{Hostname: "vm", InstanceName: m.Name})
	if err != nil || token != "pwt_h_tok-2_host" {
		t.Fatalf("enroll: %q %v", token, err)
	}
	state := filepath.Join(t.TempDir(), "state")
	if err := agent.SaveToken(state, token); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(state, "host-token"))
	dir, _ := os.Stat(state)
	if st.Mode().Perm() != 0o600 || dir.Mode().Perm() != 0o700 {
		t.Errorf("token file %v, dir %v: want root-only", st.Mode(), dir.Mode())
	}
	if got, _ := agent.LoadToken(state); got != token {
		t.Errorf("LoadToken = %q", got)
	}
	rep := inventory.Report{Schema: inventory.ReportSchema, Host: inventory.ReportHost{Hostname: "vm"}, Format: "deb",
		OSRelease: inventory.ReportOSRelease{ID: "debian", VersionID: "12"}, Packages: []inventory.ReportPackage{{Name: "a", Version: "1"}}}
	if err := c.Send(ctx, token, rep); err != nil || reports != 2 {
		t.Fatalf("send with one 503 first: %v, %d attempts", err, reports)
	}
	if err := c.Send(ctx, "pwt_h_wrong", rep); !agent.IsUnauthorized(err) {
		t.Errorf("refused token: %v", err)
	}
}

// Collect runs the guideline checks against the tree it reads, with the
// reboot state it found: reboot-required.pkgs naming a kernel makes
// kernel-current fail.
func TestCollectRunsChecks(t *testing.T) {
	root := tree(t, map[string]string{
		"etc/os-release":               read(t, "debian12.os-release"),
		"etc/hostname":                 "build-host\n",
		"var/lib/dpkg/status":          read(t, "debian12.status"),
		"var/run/reboot-required":      "*** System restart required ***\n",
		"var/run/reboot-required.pkgs": "linux-image-6.1.0-13-amd64\n",
		"etc/ssh/sshd_config":          "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin yes\n",
	})
	rep, err := agent.Collect(context.Background(), agent.Options{Root: root, KernelRelease: "6.1.0-13-amd64", Checks: true, CheckTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range rep.Checks {
		got[c.ID] = c.Status
	}
	want := map[string]string{"kernel-current": "fail", "ssh-password-auth": "pass", "ssh-root-login": "fail", "no-mail-server": "unknown"}
	for id, status := range want {
		if got[id] != status {
			t.Errorf("%s = %s, want %s", id, got[id], status)
		}
	}
	if len(rep.Checks) != len(patchwatch.Guidelines) {
		t.Errorf("%d checks", len(rep.Checks))
	}
	// Without Checks the report has none.
	rep, err = agent.Collect(context.Background(), agent.Options{Root: root, KernelRelease: "6.1.0-13-amd64"})
	if err != nil || rep.Checks != nil {
		t.Errorf("checks without asking: %v %v", rep.Checks, err)
	}
}
