package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
)

func autoUpdates(ctx context.Context, e *Env) patchwatch.CheckResult {
	if e.Family == "rpm" {
		if unit, enabled := e.unitEnabled("dnf-automatic-install.timer"); enabled {
			return result(patchwatch.CheckPass, unit+" is enabled")
		}
		// dnf-automatic (EL8 and later), yum-cron (EL7): each applies
		// updates only with apply_updates set, whose default is no.
		for _, t := range []struct{ unit, conf string }{
			{"dnf-automatic.timer", "/etc/dnf/automatic.conf"},
			{"yum-cron.service", "/etc/yum/yum-cron.conf"},
		} {
			if unit, enabled := e.unitEnabled(t.unit); enabled {
				return e.applyUpdates(unit, t.conf)
			}
		}
		return result(patchwatch.CheckFail, "neither a dnf-automatic timer nor yum-cron is enabled")
	}
	dir := e.path("etc/apt/apt.conf.d")
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || !exists(dir) {
		return result(patchwatch.CheckUnknown, "/etc/apt/apt.conf.d is missing")
	}
	slices.Sort(files)
	value, where := "", ""
	for _, f := range files {
		if aptIgnores(filepath.Base(f)) {
			continue
		}
		ls, err := lines(f)
		if err != nil {
			continue
		}
		for _, l := range ls {
			// APT::Periodic::Unattended-Upgrade "1"; the last setting wins.
			if rest, ok := strings.CutPrefix(l.text, "APT::Periodic::Unattended-Upgrade"); ok {
				value = strings.Trim(strings.TrimSpace(rest), `";`)
				where = fmt.Sprintf("/etc/apt/apt.conf.d/%s:%d: %s", filepath.Base(f), l.n, l.text)
			}
		}
	}
	if e.Packages != nil && !e.Packages["unattended-upgrades"] {
		return result(patchwatch.CheckFail, "the unattended-upgrades package is not installed")
	}
	switch {
	case where == "":
		return result(patchwatch.CheckFail, "APT::Periodic::Unattended-Upgrade is not set")
	case value == "0" || value == "":
		return result(patchwatch.CheckFail, where)
	}
	// apt-daily-upgrade.timer runs unattended-upgrade; masked, nothing does.
	for _, dir := range []string{"/etc/systemd/system", "/run/systemd/system"} {
		p := dir + "/apt-daily-upgrade.timer"
		if target, err := os.Readlink(e.path(p)); err == nil && target == "/dev/null" {
			return result(patchwatch.CheckFail, where+"; but "+p+" is masked")
		}
	}
	return result(patchwatch.CheckPass, where)
}

func (e *Env) applyUpdates(unit, conf string) patchwatch.CheckResult {
	ls, err := lines(e.path(conf))
	if err != nil {
		return result(patchwatch.CheckUnknown, unit+" is enabled; "+conf+": "+err.Error())
	}
	for _, l := range ls {
		k, v, ok := strings.Cut(l.text, "=")
		if !ok || strings.TrimSpace(k) != "apply_updates" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "yes", "true", "1", "on":
			return result(patchwatch.CheckPass, fmt.Sprintf("%s is enabled; %s:%d: %s", unit, conf, l.n, l.text))
		}
		return result(patchwatch.CheckFail, fmt.Sprintf("%s:%d: %s (updates are downloaded, not applied)", conf, l.n, l.text))
	}
	return result(patchwatch.CheckFail, unit+" is enabled but "+conf+" has no apply_updates = yes")
}

// aptIgnores reports whether apt skips a file of apt.conf.d: names other
// than letters, digits, "_", "-" and ".", and apt's
// Dir::Ignore-Files-Silently suffixes (backups, dpkg and ucf leftovers).
func aptIgnores(name string) bool {
	if strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != "" {
		return true
	}
	for _, suffix := range []string{"~", ".disabled", ".bak", ".save", ".orig", ".distUpgrade"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	if i := strings.LastIndex(name, "."); i >= 0 {
		ext := name[i+1:]
		if (strings.HasPrefix(ext, "dpkg-") || strings.HasPrefix(ext, "ucf-")) && strings.Trim(ext[strings.Index(ext, "-")+1:], "abcdefghijklmnopqrstuvwxyz") == "" {
			return true
		}
	}
	return false
}

func kernelCurrent(ctx context.Context, e *Env) patchwatch.CheckResult {
	if e.KernelRelease == "" || e.NewerKernel == nil {
		return result(patchwatch.CheckUnknown, "the running kernel is not known")
	}
	if *e.NewerKernel {
		return result(patchwatch.CheckFail, "a newer kernel is installed than the running "+e.KernelRelease)
	}
	return result(patchwatch.CheckPass, "no newer kernel is installed than the running "+e.KernelRelease)
}

func bruteForceGuard(ctx context.Context, e *Env) patchwatch.CheckResult {
	names := []string{"fail2ban-server", "denyhosts", "sshguard", "crowdsec"}
	if e.Live {
		if p, ok := e.running(names...); ok {
			return result(patchwatch.CheckPass, p+" is running")
		}
		return result(patchwatch.CheckFail, "none of fail2ban, denyhosts, sshguard, crowdsec is running")
	}
	for _, unit := range []string{"fail2ban.service", "sshguard.service", "crowdsec.service", "denyhosts.service"} {
		if p, ok := e.unitEnabled(unit); ok {
			return result(patchwatch.CheckPass, p+" is enabled")
		}
	}
	return result(patchwatch.CheckFail, "none of fail2ban, denyhosts, sshguard, crowdsec is enabled")
}

var noLoginShells = []string{"nologin", "false", "sync", "halt", "shutdown", ""}

// accounts lists accounts with a login shell and a usable password, and
// UID 0 accounts other than root; names only, never hashes.
func accounts(ctx context.Context, e *Env) patchwatch.CheckResult {
	passwd, err := lines(e.path("etc/passwd"))
	if err != nil {
		return result(patchwatch.CheckUnknown, "/etc/passwd: "+err.Error())
	}
	usable, empty := map[string]bool{}, map[string]bool{}
	shadow, shadowErr := lines(e.path("etc/shadow"))
	for _, l := range shadow {
		f := strings.Split(l.text, ":")
		switch {
		case len(f) < 2:
		case f[1] == "":
			// No password at all: a login needs none.
			empty[f[0]], usable[f[0]] = true, true
		case !strings.HasPrefix(f[1], "!") && !strings.HasPrefix(f[1], "*"):
			usable[f[0]] = true
		}
	}
	var extraRoot, logins, noPassword []string
	for _, l := range passwd {
		f := strings.Split(l.text, ":")
		if len(f) < 7 {
			continue
		}
		if f[2] == "0" && f[0] != "root" {
			extraRoot = append(extraRoot, f[0])
		}
		if slices.Contains(noLoginShells, filepath.Base(f[6])) {
			continue
		}
		// The password is in shadow ("x"), or, on old systems, here.
		switch {
		case f[1] == "" || f[1] == "x" && empty[f[0]]:
			noPassword = append(noPassword, f[0])
			logins = append(logins, f[0])
		case usable[f[0]] || f[1] != "x" && f[1] != "*" && !strings.HasPrefix(f[1], "!"):
			logins = append(logins, f[0])
		}
	}
	items := append([]string{}, logins...)
	for _, n := range extraRoot {
		items = append(items, n+" (UID 0)")
	}
	for _, n := range noPassword {
		items = append(items, n+" (no password)")
	}
	switch {
	case len(extraRoot) > 0 || len(noPassword) > 0:
		var why []string
		if len(extraRoot) > 0 {
			why = append(why, "UID 0 accounts besides root: "+strings.Join(extraRoot, ", "))
		}
		if len(noPassword) > 0 {
			why = append(why, "accounts with a login shell and no password: "+strings.Join(noPassword, ", "))
		}
		return result(patchwatch.CheckFail, strings.Join(why, "; "), items...)
	case shadowErr != nil && !os.IsNotExist(shadowErr):
		return result(patchwatch.CheckUnknown, "/etc/shadow: "+shadowErr.Error(), items...)
	}
	return result(patchwatch.CheckPass, fmt.Sprintf("%d accounts with a login shell and a usable password", len(logins)), items...)
}

func remoteLogging(ctx context.Context, e *Env) patchwatch.CheckResult {
	files := []string{e.path("etc/rsyslog.conf")}
	more, _ := filepath.Glob(e.path("etc/rsyslog.d/*.conf"))
	files = append(files, more...)
	sng, _ := filepath.Glob(e.path("etc/syslog-ng/conf.d/*.conf"))
	files = append(files, e.path("etc/syslog-ng/syslog-ng.conf"))
	files = append(files, sng...)
	for _, f := range files {
		ls, err := lines(f)
		if err != nil {
			continue
		}
		for _, l := range ls {
			t := l.text
			// rsyslog: *.* @host (UDP), @@host (TCP), action(type="omfwd");
			// syslog-ng: network()/tcp()/udp() destinations.
			if strings.Contains(t, "omfwd") || strings.Contains(t, "omrelp") || strings.Contains(t, " @") || strings.HasPrefix(t, "@") ||
				strings.Contains(t, "network(") || strings.Contains(t, "tcp(") || strings.Contains(t, "udp(") {
				return result(patchwatch.CheckPass, fmt.Sprintf("%s:%d: %s", e.rel(f), l.n, t))
			}
		}
	}
	if unit, ok := e.unitEnabled("systemd-journal-upload.service"); ok {
		if ls, err := lines(e.path("etc/systemd/journal-upload.conf")); err == nil {
			for _, l := range ls {
				if strings.HasPrefix(l.text, "URL=") {
					return result(patchwatch.CheckPass, unit+" is enabled; /etc/systemd/journal-upload.conf:"+fmt.Sprint(l.n)+": "+l.text)
				}
			}
		}
	}
	if !exists(e.path("etc/rsyslog.conf")) && !exists(e.path("etc/syslog-ng/syslog-ng.conf")) && !exists(e.path("etc/systemd/journald.conf")) {
		return result(patchwatch.CheckUnknown, "no rsyslog, syslog-ng or journald configuration found")
	}
	return result(patchwatch.CheckFail, "no rsyslog, syslog-ng or journal-upload forwarding to a remote server")
}
