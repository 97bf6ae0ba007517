// Package checks reads how a VM stands against the cloud's security
// guidelines. Every check reads the system without changing it and
// reports pass, fail or unknown with its evidence: the file and line, or
// the command output, trimmed, and never a secret.
package checks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/patchwatch/patchwatch"
)

// Env is what the checks read.
type Env struct {
	// Root is the filesystem root ("/" for the live system).
	Root string
	// Proc is the proc filesystem ("/proc" live; a tree's copy in tests).
	Proc string
	// Live allows running commands (sshd -T, nft, iptables).
	Live bool
	// Family is "deb" or "rpm"; KernelRelease and NewerKernel describe the
	// kernels (from the report).
	Family        string
	KernelRelease string
	// NewerKernel is set when a newer kernel than the running one is installed.
	NewerKernel *bool
	// Packages are the installed package names.
	Packages map[string]bool
	// Commands runs the read-only commands a check asks for (sshd -T, nft,
	// fail2ban-client); nil runs none, as on a root tree.
	Commands Commander
	// Now is the clock the age limits are measured against; nil is time.Now.
	Now func() time.Time
	// Dial connects to the host's own listening sockets, to read their TLS
	// certificates and HTTP redirects; nil probes none, as on a root tree.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	virtOnce sync.Once
	virt     virtualization

	// sshd's configuration, read once for both SSH checks.
	sshdOnce   sync.Once
	sshdGlobal map[string]sshdSetting
	sshdFiles  *sshdConfig
	sshdErr    error
}

func (e *Env) path(p string) string { return filepath.Join(e.Root, p) }

// stat follows symbolic links the way the VM would: an absolute link in a
// root tree points inside the tree, not at this machine's files.
func (e *Env) stat(p string) (os.FileInfo, error) {
	if e.Live || filepath.Clean(e.Root) == "/" {
		return os.Stat(p)
	}
	root := filepath.Clean(e.Root)
	rest := strings.TrimPrefix(filepath.Clean(p), root)
	cur := root
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	for hops := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if cur != root {
				cur = filepath.Dir(cur)
			}
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return nil, fmt.Errorf("%s: too many levels of symbolic links", e.rel(p))
		}
		target, err := os.Readlink(next)
		if err != nil {
			return nil, err
		}
		if filepath.IsAbs(target) {
			cur = root
		}
		parts = append(strings.Split(strings.Trim(filepath.Clean(target), "/"), "/"), parts...)
	}
	return os.Stat(cur)
}

// rel turns a path under Root back into the VM's own absolute path.
func (e *Env) rel(p string) string {
	return "/" + strings.TrimPrefix(strings.TrimPrefix(p, filepath.Clean(e.Root)), "/")
}

// Check is one guideline check.
type Check struct {
	ID  string
	Run func(ctx context.Context, e *Env) patchwatch.CheckResult
}

// All lists the checks in report order.
func All() []Check {
	return []Check{
		{"auto-updates", autoUpdates},
		{"kernel-current", kernelCurrent},
		{"livepatch", livepatch},
		{"stale-libraries", staleLibraries},
		{"ssh-password-auth", sshPasswordAuth},
		{"ssh-root-login", sshRootLogin},
		{"no-mail-server", noMailServer},
		{"host-firewall", hostFirewall},
		{"brute-force-guard", bruteForceGuard},
		{"accounts", accounts},
		{"plaintext-services", plaintextServices},
		{"listening-services", listeningServices},
		{"no-baked-keys", noBakedKeys},
		{"remote-logging", remoteLogging},
	}
}

// Run runs every check, each within timeout, so that one slow check (a
// hung command) cannot stop the report: it is then unknown.
func Run(ctx context.Context, e *Env, timeout time.Duration) []patchwatch.CheckResult {
	var out []patchwatch.CheckResult
	for _, c := range All() {
		out = append(out, runOne(ctx, e, c, timeout))
	}
	return out
}

func runOne(ctx context.Context, e *Env, c Check, timeout time.Duration) patchwatch.CheckResult {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan patchwatch.CheckResult, 1)
	go func() { done <- c.Run(cctx, e) }()
	var r patchwatch.CheckResult
	select {
	case r = <-done:
	case <-cctx.Done():
		r = patchwatch.CheckResult{Status: patchwatch.CheckUnknown, Evidence: fmt.Sprintf("did not finish within %s", timeout)}
	}
	r.ID = c.ID
	return r
}

// Bounds on what a result carries, well inside what the server accepts
// (inventory.validateChecks).
const (
	maxEvidence = 500
	maxItems    = 100
)

func result(status, evidence string, items ...string) patchwatch.CheckResult {
	evidence = truncate(evidence, maxEvidence)
	if len(items) > maxItems {
		items = append(items[:maxItems-1:maxItems-1], fmt.Sprintf("and %d more", len(items)-maxItems+1))
	}
	for i := range items {
		items[i] = truncate(items[i], maxEvidence)
	}
	return patchwatch.CheckResult{Status: status, Evidence: evidence, Items: items}
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// run runs a command through e.Commands; found is false when no command
// runs here (a root tree) or the command is not installed. The output is
// returned with a non-zero exit too (an *ExitError), as several tools
// report through their exit code.
func run(ctx context.Context, e *Env, name string, args ...string) (output string, found bool, err error) {
	if e.Commands == nil {
		return "", false, nil
	}
	out, err := e.Commands.Command(ctx, name, args...)
	if errors.Is(err, ErrNoCommand) {
		return "", false, nil
	}
	return out, true, err
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// lines reads a file's non-comment lines with their numbers.
func lines(path string) ([]numbered, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []numbered
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
			continue
		}
		out = append(out, numbered{n, t})
	}
	return out, sc.Err()
}

type numbered struct {
	n    int
	text string
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// unitEnabled reports whether a systemd unit is enabled in the tree.
func (e *Env) unitEnabled(unit string) (string, bool) {
	for _, target := range []string{"multi-user.target.wants", "timers.target.wants", "sockets.target.wants", "sysinit.target.wants"} {
		p := filepath.Join("/etc/systemd/system", target, unit)
		// Lstat: the link points into the tree's /lib, absolute.
		if _, err := os.Lstat(e.path(p)); err == nil {
			return p, true
		}
	}
	return "", false
}

// processes maps the PIDs in proc to their command names.
func (e *Env) processes() map[string]string {
	out := map[string]string{}
	entries, _ := os.ReadDir(e.Proc)
	for _, ent := range entries {
		if strings.Trim(ent.Name(), "0123456789") != "" {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(e.Proc, ent.Name(), "comm")); err == nil {
			out[ent.Name()] = strings.TrimSpace(string(b))
		}
	}
	return out
}

// running reports whether a process of one of the names runs (from proc).
func (e *Env) running(names ...string) (string, bool) {
	procs := e.processes()
	pids := make([]string, 0, len(procs))
	for pid := range procs {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	for _, pid := range pids {
		if slices.Contains(names, procs[pid]) {
			return procs[pid] + " (pid " + pid + ")", true
		}
	}
	return "", false
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func globSorted(pattern string) ([]string, error) {
	m, err := filepath.Glob(pattern)
	slices.Sort(m)
	return m, err
}

// iniSetting is one "key = value" line of an INI-style file (fail2ban's
// jails, dnf.conf), with its section.
type iniSetting struct {
	section, key, value string
}

// iniSettings yields the settings of a file's lines in order.
func iniSettings(ls []numbered) iter.Seq[iniSetting] {
	return func(yield func(iniSetting) bool) {
		section := ""
		for _, l := range ls {
			if strings.HasPrefix(l.text, "[") {
				section = strings.Trim(l.text, "[] ")
				continue
			}
			k, v, ok := strings.Cut(l.text, "=")
			if ok && !yield(iniSetting{section, strings.TrimSpace(k), strings.TrimSpace(v)}) {
				return
			}
		}
	}
}
