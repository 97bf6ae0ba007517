package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

// replica is one `patchwatch serve` process and its log.
type replica struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	logs bytes.Buffer
}

func (r *replica) logged(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Count(r.logs.String(), s)
}

// waitLog waits until the replica has logged s n times.
func (r *replica) waitLog(t *testing.T, s string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for r.logged(s) < n {
		if time.Now().After(deadline) {
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("%q not logged %d times within %v:\n%s", s, n, within, r.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startReplica starts replica i of serve on the database in dsnFile, with
// extra YAML appended to its config, and waits until its API listens.
func startReplica(t *testing.T, bin, dir, dsnFile string, i int, extra string) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf("db: %s\nlog_level: info\nstore:\n  driver: postgres\n  dsn_file: %s\nserver:\n  listen: %s\n  report_interval: 1ns\n  report_burst: 1000\nfeeds:\n  usn: {enabled: false}\n  debian: {enabled: false}\n  kev: {enabled: false}\n  rhsa: {enabled: false}\n  almalinux: {enabled: false}\n  rocky: {enabled: false}\n%s",
		filepath.Join(dir, "unused.db"), dsnFile, addr, extra)
	path := filepath.Join(dir, fmt.Sprintf("replica%d.yaml", i))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: exec.Command(bin, "serve", "--config", path), url: "http://" + addr}
	stderr, _ := r.cmd.StderrPipe()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill(); r.cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.logs.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
		}
	}()
	r.waitLog(t, "API listening", 1, 30*time.Second)
	return r
}

// buildReplica builds the patchwatch binary into dir and writes the DSN
// file its replicas read.
func buildReplica(t *testing.T, dir, dsn string) (bin, dsnFile string) {
	t.Helper()
	bin = filepath.Join(dir, "patchwatch")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dsnFile = filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn), 0o600); err != nil {
		t.Fatal(err)
	}
	return bin, dsnFile
}

// TestTwoReplicasPostgres runs two real serve processes on one database:
// reports to either are stored, one replica leads the poller and the
// notifier, and when it is killed (-9) the other takes over within a
// minute.
func TestTwoReplicasPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	bin, dsnFile := buildReplica(t, dir, dsn)
	a := startReplica(t, bin, dir, dsnFile, 1, "")
	b := startReplica(t, bin, dir, dsnFile, 2, "")
	// The first to start leads both; the other waits.
	a.waitLog(t, "leader lock taken", 2, 60*time.Second)
	if n := b.logged("leader lock taken"); n != 0 {
		t.Fatalf("both replicas lead (%d locks on the second)", n)
	}

	st := pgtest.OpenDSN(t, dsn)
	ctx := context.Background()
	const hosts = 10
	for i := range hosts {
		secret, tok, err := server.NewToken(patchwatch.TokenHost, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tok.Host, tok.Owner = fmt.Sprintf("vm%02d", i), "ops@example.org"
		if err := st.PutToken(ctx, server.HashToken(secret), tok); err != nil {
			t.Fatal(err)
		}
		rep := inventory.Report{Schema: inventory.ReportSchema, Host: inventory.ReportHost{Hostname: tok.Host}, Format: "deb",
			OSRelease: inventory.ReportOSRelease{ID: "ubuntu", VersionID: "22.04"},
			Packages:  []inventory.ReportPackage{{Name: "zlib1g", Version: "1:1.2.11.dfsg-2ubuntu9", Arch: "amd64", SourceName: "zlib", SourceVersion: "1:1.2.11.dfsg-2ubuntu9"}}}
		body, _ := json.Marshal(rep)
		to := []*replica{a, b}[i%2]
		req, _ := http.NewRequest("POST", to.url+"/api/v1/reports", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("report of %s to replica %d: status %d", tok.Host, i%2+1, resp.StatusCode)
		}
	}
	if n, err := st.CountHosts(ctx); err != nil || n != hosts {
		t.Fatalf("%d hosts stored (%v), want %d", n, err, hosts)
	}

	// kill -9 the leader: its session ends, the other replica takes over.
	killed := time.Now()
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.waitLog(t, "leader lock taken", 2, time.Minute)
	t.Logf("takeover after %v", time.Since(killed).Round(time.Second))
}
