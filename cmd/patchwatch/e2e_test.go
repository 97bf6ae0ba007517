package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
)

// writeTestPKI writes a CA and a server certificate for 127.0.0.1.
func writeTestPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "patchwatch test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return caFile, certFile, keyFile
}

func buildBinaries(t *testing.T, dir string) (server, agent string) {
	t.Helper()
	server, agent = filepath.Join(dir, "patchwatch"), filepath.Join(dir, "patchwatch-agent")
	for pkg, out := range map[string]string{".": server, "../patchwatch-agent": agent} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return server, agent
}

// statusFromTSV writes a dpkg status file from dpkg-query output with
// source fields, for an agent root tree.
func statusFromTSV(t *testing.T, tsv string) string {
	t.Helper()
	data, err := os.ReadFile(tsv)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for line := range strings.Lines(string(data)) {
		c := strings.Split(strings.TrimSpace(line), "\t")
		fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nArchitecture: %s\nSource: %s (%s)\nVersion: %s\n\n", c[0], c[4], c[2], c[3], c[1])
	}
	return b.String()
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEndToEndBinaries runs the real binaries: `patchwatch serve` with TLS
// from a test CA, agents reporting from root trees built from real
// inventories, and the CLI querying in remote mode.
func TestEndToEndBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	dir := t.TempDir()
	pw, agent := buildBinaries(t, dir)
	caFile, certFile, keyFile := writeTestPKI(t, dir)
	db := filepath.Join(dir, "pw.db")
	if r := run(t, db, "import", "--quiet", "../../samples/usn", "../../feeds/dsa/testdata/DSA.list"); r.err != nil {
		t.Fatalf("import: %v\n%s", r.err, r.stdout)
	}
	secret := func(args ...string) string {
		// The real server checks expiry against the real clock.
		r := runAt(t, db, time.Now(), append([]string{"token", "create"}, args...)...)
		if r.err != nil {
			t.Fatal(r.err)
		}
		return strings.TrimSpace(r.stdout)
	}
	admin := secret("--kind", "admin")
	enroll := secret("--kind", "enroll", "--owner", "alice@example.org", "--expires", "1h")
	bobOwner := secret("--kind", "owner", "--owner", "bob@example.org")
	for name, v := range map[string]string{"admin": admin, "enroll": enroll, "bob": bobOwner} {
		os.WriteFile(filepath.Join(dir, name+".token"), []byte(v+"\n"), 0o600)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf("db: %s\nlog_level: info\nserver:\n  listen: %s\n  tls_cert_file: %s\n  tls_key_file: %s\nfeeds:\n  usn: {enabled: false}\n  debian: {enabled: false}\n  kev: {enabled: false}\n  rhsa: {enabled: false}\n  almalinux: {enabled: false}\n  rocky: {enabled: false}\n",
		db, addr, certFile, keyFile)
	cfgFile := filepath.Join(dir, "patchwatch.yaml")
	os.WriteFile(cfgFile, []byte(cfg), 0o600)

	srv := exec.Command(pw, "serve", "--config", cfgFile)
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	ready := make(chan struct{})
	var logs bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if !once && strings.Contains(sc.Text(), "API listening") {
				once = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", logs.String())
	}
	url := "https://" + addr

	// Agents report from root trees built from real inventories.
	focal := filepath.Join(dir, "focal")
	writeTree(t, focal, map[string]string{
		"etc/os-release":      mustRead(t, "../../samples/hosts/focal-bluefield.os-release"),
		"etc/hostname":        "focal-vm\n",
		"var/lib/dpkg/status": statusFromTSV(t, "../../samples/hosts/focal-bluefield.dpkg-query.tsv"),
		// The agent's checks read the tree: passwords on, root by key.
		"etc/ssh/sshd_config":                      "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\n",
		"etc/ssh/sshd_config.d/50-cloud-init.conf": "PasswordAuthentication yes\n",
	})
	deb := filepath.Join(dir, "bullseye")
	writeTree(t, deb, map[string]string{
		"etc/os-release":      mustRead(t, "../../inventory/testdata/debian-11.os-release"),
		"etc/hostname":        "bullseye-vm\n",
		"var/lib/dpkg/status": "Package: xserver-xorg-core\nStatus: install ok installed\nArchitecture: amd64\nSource: xorg-server\nVersion: 2:1.20.11-1+deb11u5\n\n",
	})
	for _, root := range []string{focal, deb} {
		cmd := exec.Command(agent, "report", "--root", root, "--server", url, "--ca-file", caFile, "--state-dir", filepath.Join(root, "state"),
			"--enroll-token-file", filepath.Join(dir, "enroll.token"), "--metadata-url", "-", "--kernel-release", "5.4.0-1058-bluefield", "-v")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("agent %s: %v\n%s\nserver:\n%s", root, err, out, logs.String())
		}
		if _, err := os.Stat(filepath.Join(root, "state", "host-token")); err != nil {
			t.Errorf("host token not kept: %v", err)
		}
	}
	// The second run reuses the stored host token.
	if out, err := exec.Command(agent, "report", "--root", focal, "--server", url, "--ca-file", caFile, "--state-dir", filepath.Join(focal, "state"), "--metadata-url", "-").CombinedOutput(); err != nil {
		t.Fatalf("second report: %v\n%s", err, out)
	}

	query := func(tokenFile string, args ...string) string {
		t.Helper()
		cmd := exec.Command(pw, append(args, "--server", url, "--ca-file", caFile, "--token-file", filepath.Join(dir, tokenFile))...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	var findings []struct {
		Host     string `json:"host"`
		Advisory string `json:"advisory"`
	}
	if err := json.Unmarshal([]byte(query("admin.token", "outstanding", "--format", "json")), &findings); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range findings {
		got[f.Host+" "+f.Advisory] = true
	}
	for _, want := range []string{"focal-vm USN-5614-1", "focal-vm USN-6000-1", "bullseye-vm DSA-5380-1"} {
		if !got[want] {
			t.Errorf("remote outstanding lacks %s: %v", want, got)
		}
	}
	if out := query("admin.token", "outstanding", "--host", "focal-vm"); !strings.Contains(out, "USN-5614-1") || strings.Contains(out, "bullseye-vm") {
		t.Errorf("remote outstanding of one host, as a table:\n%s", out)
	}
	if out := query("admin.token", "hosts"); !strings.Contains(out, "focal-vm") || !strings.Contains(out, "bullseye-vm") {
		t.Errorf("remote hosts:\n%s", out)
	}
	// The checks the agent ran are stored and shown.
	out := query("admin.token", "host", "show", "focal-vm")
	for _, want := range []string{"ssh-password-auth", "/etc/ssh/sshd_config.d/50-cloud-init.conf:1: PasswordAuthentication yes",
		"ssh-root-login      pass", "SSH refuses password logins", "fix: put 'PasswordAuthentication no'"} {
		if !strings.Contains(out, want) {
			t.Errorf("remote host show lacks %q:\n%s", want, out)
		}
	}
	var standing []struct {
		Name          string            `json:"name"`
		FailingChecks []string          `json:"failing_checks"`
		Checks        int               `json:"checks"`
		CheckStatus   map[string]string `json:"check_status"`
	}
	if err := json.Unmarshal([]byte(query("admin.token", "hosts", "--checks", "--format", "json")), &standing); err != nil {
		t.Fatal(err)
	}
	for _, h := range standing {
		if h.Name == "focal-vm" && (!slices.Contains(h.FailingChecks, "ssh-password-auth") || h.CheckStatus["ssh-root-login"] != "pass" || len(h.CheckStatus) != len(patchwatch.Guidelines) || h.Checks != len(h.CheckStatus)) {
			t.Errorf("hosts --checks: %+v", h)
		}
	}
	if out := query("admin.token", "hosts", "--checks"); !strings.Contains(out, "ssh-password-auth") || !strings.Contains(out, "FAIL") {
		t.Errorf("hosts --checks:\n%s", out)
	}
	// Feed freshness is an admin query; with every feed disabled the list is empty.
	if out := query("admin.token", "feeds", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("feeds --server: %s", out)
	}
	if out, err := exec.Command(pw, "feeds", "--server", url, "--ca-file", caFile, "--token-file", filepath.Join(dir, "bob.token")).CombinedOutput(); err == nil || !strings.Contains(string(out), "HTTP 403") {
		t.Errorf("an owner reads the feeds: %v %s", err, out)
	}
	// While serve holds the database, a local query says so and names --server.
	if out, err := exec.Command(pw, "hosts", "--db", db).CombinedOutput(); err == nil || !strings.Contains(string(out), "in use by another process") || !strings.Contains(string(out), "--server URL") {
		t.Errorf("local query while serve runs: %v %s", err, out)
	}
	// While the server holds the database, a check is disabled through the API.
	out = query("admin.token", "silence", "add", "--check", "ssh-password-auth", "--host", "focal-vm", "--reason", "a jump host for the course", "--expires", "30d")
	silenceID, _, _ := strings.Cut(out, ":")
	if !strings.Contains(out, "check ssh-password-auth disabled (host focal-vm)") {
		t.Errorf("remote silence add: %s", out)
	}
	if out := query("admin.token", "hosts", "--checks", "--format", "json"); !strings.Contains(out, `"ssh-password-auth": "disabled"`) {
		t.Errorf("hosts --checks after disabling:\n%s", out)
	}
	if out := query("admin.token", "silence", "remove", silenceID); !strings.Contains(out, silenceID+" removed") {
		t.Errorf("remote silence remove: %s", out)
	}
	if out := query("bob.token", "outstanding", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("bob sees alice's findings: %s", out)
	}
	if out := query("admin.token", "advisory", "USN-5614-1"); !strings.Contains(out, "affected hosts: 1") {
		t.Errorf("remote advisory:\n%s", out)
	}

	// The web console answers on the same listener: an admin signs in with
	// a Secure session cookie and sees the fleet's hosts.
	consoleSignIn(t, url, caFile, strings.TrimSpace(mustRead(t, filepath.Join(dir, "admin.token"))), "focal-vm")

	// SIGTERM: the server stops cleanly.
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

// consoleSignIn signs in to the console at base with token and expects
// the host list to name host.
func consoleSignIn(t *testing.T, base, caFile, token, host string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(mustRead(t, caFile)))
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET /login: %d %v", resp.StatusCode, resp.Header)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field on /login:\n%s", page)
	}
	resp, err = client.PostForm(base+"/login", neturl.Values{"token": {token}, "csrf": {string(m[1])}, "next": {"/hosts"}})
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(hosts), "/hosts/"+host) {
		t.Fatalf("console host list after sign-in: %d\n%s", resp.StatusCode, hosts)
	}
	u, _ := neturl.Parse(base)
	if cookies := jar.Cookies(u); len(cookies) != 1 || cookies[0].Name != "__Host-patchwatch_session" {
		t.Errorf("console cookies %v", cookies)
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
