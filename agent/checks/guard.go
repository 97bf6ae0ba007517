package checks

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// bruteForceGuard passes when repeated failed SSH logins get blocked: an
// active fail2ban sshd jail, sshguard running, or CrowdSec running with
// its SSH parser; or when SSH cannot be guessed at all: keys only and
// reachable only from a restricted source (AllowUsers/AllowGroups with
// user@host patterns, or sshd's ListenAddress on a private address).
func bruteForceGuard(ctx context.Context, e *Env) patchwatch.CheckResult {
	if r, missing := e.sshdMissing(); missing && r.Status == patchwatch.CheckPass {
		return r // no SSH server: nothing to guess a password of
	}
	var seen []string
	if out, found, err := run(ctx, e, "fail2ban-client", "status", "sshd"); found {
		if err == nil {
			if jail, ok := fail2banJail(out); ok {
				return result(patchwatch.CheckPass, "fail2ban-client status sshd: "+jail)
			}
		}
		// fail2ban-client exits 255 with "Sorry but the jail 'sshd' does
		// not exist", or 1 when the server does not run.
		seen = append(seen, "fail2ban-client status sshd: "+firstLine(out))
	}
	if e.Live {
		for _, name := range []string{"sshguard", "crowdsec"} {
			if p, ok := e.running(name); ok {
				if name == "crowdsec" && !e.crowdsecSSH() {
					seen = append(seen, p+" runs without the crowdsecurity/sshd collection")
					continue
				}
				return result(patchwatch.CheckPass, p+" is running")
			}
		}
		if p, ok := e.running("fail2ban-server"); ok && len(seen) == 0 {
			seen = append(seen, p+" runs; its sshd jail could not be read")
		}
	} else {
		for _, unit := range []string{"sshguard.service", "crowdsec.service", "fail2ban.service"} {
			if p, ok := e.unitEnabled(unit); ok {
				if unit == "fail2ban.service" && !e.fail2banSSHDEnabled() {
					seen = append(seen, p+" is enabled but no jail file enables [sshd]")
					continue
				}
				return result(patchwatch.CheckPass, p+" is enabled")
			}
		}
	}
	if ev, ok := e.sshRestricted(ctx); ok {
		return result(patchwatch.CheckPass, ev)
	}
	if len(seen) > 0 {
		return result(patchwatch.CheckFail, strings.Join(seen, "; "))
	}
	return result(patchwatch.CheckFail, "no active fail2ban sshd jail, sshguard or CrowdSec, and SSH takes connections from anywhere")
}

// fail2banJail reads `fail2ban-client status sshd`:
//
//	Status for the jail: sshd
//	|- Filter
//	|  |- Currently failed:	2
//	...
//	`- Actions
//	   |- Currently banned:	1
//	   |- Total banned:	17
func fail2banJail(out string) (string, bool) {
	if !strings.Contains(out, "Status for the jail: sshd") {
		return "", false
	}
	var facts []string
	for l := range strings.Lines(out) {
		t := strings.TrimLeft(l, "|-` \t")
		for _, key := range []string{"Currently failed:", "Currently banned:", "Total banned:"} {
			if v, ok := strings.CutPrefix(t, key); ok {
				facts = append(facts, strings.ToLower(strings.TrimSuffix(key, ":"))+" "+strings.TrimSpace(v))
			}
		}
	}
	return "the sshd jail is active (" + strings.Join(facts, ", ") + ")", true
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return truncate(l, 200)
}

// fail2banSSHDEnabled reads jail.local and jail.d/*.{conf,local} for an
// [sshd] section with enabled = true (Debian's defaults-debian.conf has
// one; jail.conf's own default is false).
func (e *Env) fail2banSSHDEnabled() bool {
	files := []string{e.path("etc/fail2ban/jail.conf")}
	for _, pattern := range []string{"etc/fail2ban/jail.d/*.conf", "etc/fail2ban/jail.local", "etc/fail2ban/jail.d/*.local"} {
		more, _ := globSorted(e.path(pattern))
		files = append(files, more...)
	}
	enabled := false
	for _, f := range files {
		ls, err := lines(f)
		if err != nil {
			continue
		}
		for s := range iniSettings(ls) {
			if s.section == "sshd" && s.key == "enabled" {
				enabled = strings.EqualFold(s.value, "true")
			}
		}
	}
	return enabled
}

// crowdsecSSH reports whether CrowdSec's sshd collection is installed
// (hub items are linked into /etc/crowdsec/collections).
func (e *Env) crowdsecSSH() bool {
	return exists(e.path("etc/crowdsec/collections/sshd.yaml"))
}

// sshRestricted reports whether SSH takes keys only and only from
// restricted sources: every AllowUsers pattern names a host
// (user@10.0.0.0/8), or sshd listens on private addresses only.
func (e *Env) sshRestricted(ctx context.Context) (string, bool) {
	if !exists(e.path("etc/ssh/sshd_config")) {
		return "", false
	}
	global, _, err := e.sshd(ctx)
	if err != nil {
		return "", false
	}
	if r := sshPasswordAuth(ctx, e); r.Status != patchwatch.CheckPass {
		return "", false
	}
	if au := global["allowusers"]; au.value != "" {
		restricted := true
		for _, p := range strings.Fields(au.value) {
			_, host, ok := strings.Cut(p, "@")
			if !ok || host == "*" || host == "" {
				restricted = false
			}
		}
		if restricted {
			return fmt.Sprintf("SSH takes keys only, from restricted sources: %s", au.where), true
		}
	}
	if ev, ok := e.keysFromRestrictedSources(); ok {
		return ev, true
	}
	if la := global["listenaddress"]; la.value != "" {
		addr := strings.Fields(la.value)[0]
		host := addr
		if h, _, ok := strings.Cut(strings.Trim(addr, "[]"), "]:"); ok {
			host = h
		} else if i := strings.LastIndex(addr, ":"); i > 0 && strings.Count(addr, ":") == 1 {
			host = addr[:i]
		}
		if isPrivate(host) {
			return "SSH takes keys only, on a private address: " + la.where, true
		}
	}
	return "", false
}

// keysFromRestrictedSources reports whether every authorized key of every
// login account carries a from="..." option that names no wildcard: then
// no key logs in from anywhere else, and there is no password to guess.
func (e *Env) keysFromRestrictedSources() (string, bool) {
	passwd, err := lines(e.path("etc/passwd"))
	if err != nil {
		return "", false
	}
	var sources []string
	for _, l := range passwd {
		f := strings.Split(l.text, ":")
		if len(f) < 7 || slices.Contains(noLoginShells, filepath.Base(f[6])) {
			continue
		}
		for _, k := range e.accountKeys(f[5]) {
			if k.from == "" {
				return "", false
			}
			// A wildcard pattern lets a key in from anywhere.
			for _, p := range strings.Split(k.from, ",") {
				if p == "*" || p == "*.*" || p == "0.0.0.0/0" || p == "::/0" {
					return "", false
				}
			}
			if !slices.Contains(sources, k.from) {
				sources = append(sources, k.from)
			}
		}
	}
	if len(sources) == 0 {
		return "", false
	}
	return "SSH takes keys only, and every authorized key only from=" + strings.Join(sources, "; "), true
}
