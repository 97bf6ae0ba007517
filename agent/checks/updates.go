package checks

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// maxUpdateAge is how long ago the last successful automatic update run
// may be: unattended-upgrades and dnf-automatic run daily, so three days
// without one means they are not running.
const maxUpdateAge = 72 * time.Hour

// autoUpdates checks that security updates install themselves: the
// configuration that turns them on, and then its effect, a recent run
// that succeeded.
func autoUpdates(ctx context.Context, e *Env) patchwatch.CheckResult {
	if e.Family == "rpm" {
		return e.autoUpdatesRPM(ctx)
	}
	where, r, ok := e.aptPeriodic()
	if !ok {
		return r
	}
	return e.unattendedUpgradesRan(where)
}

// aptPeriodic reads APT::Periodic::Unattended-Upgrade (the last setting
// wins), the package, and the timer that runs it.
func (e *Env) aptPeriodic() (string, patchwatch.CheckResult, bool) {
	if !exists(e.path("etc/apt/apt.conf.d")) {
		return "", result(patchwatch.CheckUnknown, "/etc/apt/apt.conf.d is missing"), false
	}
	value, where := "", ""
	for f, ls := range e.aptConf() {
		for _, l := range ls {
			// APT::Periodic::Unattended-Upgrade "1"; the last setting wins.
			if rest, ok := strings.CutPrefix(l.text, "APT::Periodic::Unattended-Upgrade"); ok {
				value = strings.Trim(strings.TrimSpace(rest), `";`)
				where = fmt.Sprintf("/etc/apt/apt.conf.d/%s:%d: %s", filepath.Base(f), l.n, l.text)
			}
		}
	}
	if e.Packages != nil && !e.Packages["unattended-upgrades"] {
		return "", result(patchwatch.CheckFail, "the unattended-upgrades package is not installed"), false
	}
	switch {
	case where == "":
		return "", result(patchwatch.CheckFail, "APT::Periodic::Unattended-Upgrade is not set"), false
	case value == "0" || value == "":
		return "", result(patchwatch.CheckFail, where), false
	}
	// apt-daily-upgrade.timer runs unattended-upgrade; masked, nothing does.
	for _, dir := range []string{"/etc/systemd/system", "/run/systemd/system"} {
		p := dir + "/apt-daily-upgrade.timer"
		if target, err := os.Readlink(e.path(p)); err == nil && target == "/dev/null" {
			return "", result(patchwatch.CheckFail, where+"; but "+p+" is masked"), false
		}
	}
	return where, patchwatch.CheckResult{}, true
}

const (
	uuStamp = "/var/lib/apt/periodic/unattended-upgrades-stamp"
	uuLog   = "/var/log/unattended-upgrades/unattended-upgrades.log"
	uuConf  = "/etc/apt/apt.conf.d/50unattended-upgrades"
)

// unattendedUpgradesRan checks the effect: apt.systemd.daily touches its
// stamp only after unattended-upgrade succeeded; the log tells whether
// the last run failed and which origins it allowed; held packages get no
// updates at all.
func (e *Env) unattendedUpgradesRan(where string) patchwatch.CheckResult {
	now := e.now()
	var last time.Time
	lastFrom := ""
	if st, err := os.Stat(e.path(uuStamp)); err == nil {
		last, lastFrom = st.ModTime(), uuStamp
	}
	run, logErr := readUULog(e.path(uuLog))
	if !run.start.IsZero() && !run.failed && run.start.After(last) {
		last, lastFrom = run.start, uuLog
	}
	var bad, facts []string
	items := e.heldPackages()
	switch {
	case last.IsZero() && run.start.IsZero():
		bad = append(bad, "unattended-upgrades has never run: no "+uuStamp+" and no runs in "+uuLog)
	case last.IsZero():
		bad = append(bad, "unattended-upgrades has never run successfully")
	case now.Sub(last) > maxUpdateAge:
		bad = append(bad, fmt.Sprintf("the last successful run was %s (%s), more than 3 days ago", last.UTC().Format(time.RFC3339), lastFrom))
	default:
		facts = append(facts, fmt.Sprintf("last successful run %s (%s)", last.UTC().Format(time.RFC3339), lastFrom))
	}
	if run.failed {
		bad = append(bad, "the last run, started "+run.start.Format("2006-01-02 15:04")+", failed: "+strings.Join(run.errors, " | "))
	}
	origins, originsFrom := run.origins, uuLog
	if origins == nil {
		origins, originsFrom = e.allowedOrigins()
	}
	switch {
	case originsFrom == "":
		if logErr == nil {
			facts = append(facts, "allowed origins not found")
		}
	case !slices.ContainsFunc(origins, isSecurityOrigin):
		bad = append(bad, "no security origin is allowed ("+originsFrom+": "+strings.Join(origins, ", ")+")")
	default:
		facts = append(facts, "security origin allowed ("+originsFrom+")")
	}
	if len(items) > 0 {
		bad = append(bad, fmt.Sprintf("%d held packages get no updates: %s", len(items), strings.Join(items, ", ")))
	}
	if len(bad) > 0 {
		return result(patchwatch.CheckFail, strings.Join(bad, "; "), items...)
	}
	return result(patchwatch.CheckPass, where+"; "+strings.Join(facts, "; "))
}

func isSecurityOrigin(o string) bool { return strings.Contains(strings.ToLower(o), "security") }

// uuRun is the last run in unattended-upgrades' log.
type uuRun struct {
	start   time.Time
	failed  bool
	errors  []string
	origins []string
}

// readUULog reads unattended-upgrades.log ("2024-03-05 06:27:13,416 INFO
// Starting unattended upgrades script", Python logging's format in the
// VM's local time) for its last run: when it started, its ERROR lines,
// and the origins it allowed. Only the file's last 1 MiB is read.
func readUULog(path string) (uuRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return uuRun{}, err
	}
	defer f.Close()
	const tail = 1 << 20
	if st, err := f.Stat(); err == nil && st.Size() > tail {
		if _, err := f.Seek(st.Size()-tail, 0); err != nil {
			return uuRun{}, err
		}
	}
	var run uuRun
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 24 || line[19] != ',' {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05", line[:19], time.Local)
		if err != nil {
			continue
		}
		level, msg, _ := strings.Cut(strings.TrimSpace(line[23:]), " ")
		switch {
		case strings.HasPrefix(msg, "Starting unattended upgrades script"):
			run = uuRun{start: at}
		case run.start.IsZero():
		case strings.HasPrefix(msg, "Allowed origins are:"):
			for _, o := range strings.Split(strings.TrimPrefix(msg, "Allowed origins are:"), ", ") {
				if o = strings.TrimSpace(o); o != "" {
					run.origins = append(run.origins, o)
				}
			}
			if run.origins == nil {
				run.origins = []string{}
			}
		case level == "ERROR" || level == "CRITICAL":
			run.failed = true
			if len(run.errors) < 3 {
				run.errors = append(run.errors, truncate(msg, 120))
			}
		}
	}
	return run, sc.Err()
}

// allowedOrigins reads Unattended-Upgrade::Allowed-Origins and
// ::Origins-Pattern from apt.conf.d, for when the log has no run.
func (e *Env) allowedOrigins() ([]string, string) {
	var origins []string
	from := ""
	for f, ls := range e.aptConf() {
		in := false
		for _, l := range ls {
			t := l.text
			key := strings.HasPrefix(t, "Unattended-Upgrade::Allowed-Origins") || strings.HasPrefix(t, "Unattended-Upgrade::Origins-Pattern")
			if key {
				from = e.rel(f)
				if origins == nil {
					origins = []string{}
				}
				in = strings.Contains(t, "{") && !strings.Contains(t, "}")
			}
			if key || in {
				origins = append(origins, quoted(t)...)
			}
			if in && strings.Contains(t, "}") {
				in = false
			}
		}
	}
	return origins, from
}

// quoted returns the double-quoted strings of a line.
func quoted(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i+1:], '"')
		if j < 0 {
			return out
		}
		out = append(out, s[i+1:i+1+j])
		s = s[i+j+2:]
	}
}

// heldPackages lists the packages marked hold in dpkg's status file (what
// `apt-mark showhold` prints): apt and unattended-upgrades never upgrade
// them.
func (e *Env) heldPackages() []string {
	f, err := os.Open(e.path("var/lib/dpkg/status"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var held []string
	name := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			name = ""
		case strings.HasPrefix(line, "Package: "):
			name = strings.TrimSpace(strings.TrimPrefix(line, "Package: "))
		case strings.HasPrefix(line, "Status: hold ") && strings.HasSuffix(line, " installed") && name != "":
			held = append(held, name)
		}
	}
	slices.Sort(held)
	return held
}

// autoUpdatesRPM checks dnf-automatic (EL8 and later) or yum-cron (EL7):
// the timer is enabled and applies updates, its last trigger is recent and
// the run it started succeeded.
func (e *Env) autoUpdatesRPM(ctx context.Context) patchwatch.CheckResult {
	timer, where := "", ""
	if unit, enabled := e.unitEnabled("dnf-automatic-install.timer"); enabled {
		timer, where = "dnf-automatic-install.timer", unit+" is enabled"
	} else if unit, enabled := e.unitEnabled("dnf-automatic.timer"); enabled {
		// dnf-automatic applies updates only with apply_updates set, whose
		// default is no.
		r := e.applyUpdates(unit, "/etc/dnf/automatic.conf")
		if r.Status != patchwatch.CheckPass {
			return r
		}
		timer, where = "dnf-automatic.timer", r.Evidence
	} else if unit, enabled := e.unitEnabled("yum-cron.service"); enabled {
		// yum-cron runs from cron.daily and keeps no record of its runs:
		// only its configuration can be read.
		return e.applyUpdates(unit, "/etc/yum/yum-cron.conf")
	} else {
		return result(patchwatch.CheckFail, "neither a dnf-automatic timer nor yum-cron is enabled")
	}
	service := strings.TrimSuffix(timer, ".timer") + ".service"
	last, lastFrom := e.timerLastTrigger(ctx, timer)
	var bad, facts []string
	switch {
	case last.IsZero():
		bad = append(bad, timer+" has never triggered")
	case e.now().Sub(last) > maxUpdateAge:
		bad = append(bad, fmt.Sprintf("%s last triggered %s (%s), more than 3 days ago", timer, last.UTC().Format(time.RFC3339), lastFrom))
	default:
		facts = append(facts, fmt.Sprintf("%s last triggered %s (%s)", timer, last.UTC().Format(time.RFC3339), lastFrom))
	}
	if out, found, err := run(ctx, e, "systemctl", "show", service, "--property=Result", "--property=ExecMainStatus"); found && err == nil {
		props := systemdProperties(out)
		if res := props["Result"]; res != "" && res != "success" {
			bad = append(bad, fmt.Sprintf("the last run of %s failed: Result=%s ExecMainStatus=%s", service, res, props["ExecMainStatus"]))
		}
	}
	if at, line := lastDNFTransaction(e.path("var/log/dnf.rpm.log")); !at.IsZero() {
		facts = append(facts, "last dnf transaction "+at.UTC().Format(time.RFC3339)+": "+truncate(line, 120))
	}
	held := e.dnfHeld()
	if len(held) > 0 {
		bad = append(bad, fmt.Sprintf("%d packages are locked or excluded and get no updates: %s", len(held), strings.Join(held, ", ")))
	}
	if len(bad) > 0 {
		return result(patchwatch.CheckFail, strings.Join(append(bad, facts...), "; "), held...)
	}
	return result(patchwatch.CheckPass, where+"; "+strings.Join(facts, "; "))
}

// dnfHeld lists what dnf will not update: versionlock entries
// (/etc/dnf/plugins/versionlock.list; "!" lines are excludes too) and the
// exclude= (excludepkgs=) of dnf.conf's [main].
func (e *Env) dnfHeld() []string {
	var held []string
	if ls, err := lines(e.path("etc/dnf/plugins/versionlock.list")); err == nil {
		for _, l := range ls {
			held = append(held, strings.TrimPrefix(l.text, "!")+" (versionlock)")
		}
	}
	if ls, err := lines(e.path("etc/dnf/dnf.conf")); err == nil {
		for s := range iniSettings(ls) {
			if s.section != "main" || (s.key != "exclude" && s.key != "excludepkgs") {
				continue
			}
			for _, p := range strings.FieldsFunc(s.value, func(r rune) bool { return r == ',' || r == ' ' }) {
				held = append(held, p+" (dnf.conf exclude)")
			}
		}
	}
	return held
}

// timerLastTrigger asks systemd when a timer last fired; on a root tree
// it reads the stamp file of a Persistent= timer, which systemd touches
// each time the timer fires.
func (e *Env) timerLastTrigger(ctx context.Context, timer string) (time.Time, string) {
	if out, found, err := run(ctx, e, "systemctl", "show", timer, "--property=LastTriggerUSec"); found && err == nil {
		v := systemdProperties(out)["LastTriggerUSec"]
		if v == "" || v == "n/a" || v == "0" {
			return time.Time{}, "systemctl show " + timer
		}
		if at, err := parseSystemdTimestamp(v); err == nil {
			return at, "systemctl show " + timer
		}
	}
	stamp := "/var/lib/systemd/timers/stamp-" + timer
	if st, err := os.Stat(e.path(stamp)); err == nil {
		return st.ModTime(), stamp
	}
	return time.Time{}, ""
}

// systemdProperties parses `systemctl show` output: KEY=value lines.
func systemdProperties(out string) map[string]string {
	m := map[string]string{}
	for l := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			m[k] = v
		}
	}
	return m
}

// parseSystemdTimestamp reads systemd's "Tue 2024-03-05 06:12:01 UTC".
func parseSystemdTimestamp(v string) (time.Time, error) {
	for _, layout := range []string{"Mon 2006-01-02 15:04:05 MST", "Mon 2006-01-02 15:04:05.000000 MST"} {
		if at, err := time.Parse(layout, v); err == nil {
			return at, nil
		}
	}
	return time.Time{}, fmt.Errorf("systemd timestamp %q", v)
}

// lastDNFTransaction returns the time and text of the last package change
// in dnf.rpm.log ("2024-03-05T06:14:22+0000 SUBDEBUG Upgrade: ..."),
// reading the file's last 256 KiB.
func lastDNFTransaction(path string) (time.Time, string) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, ""
	}
	defer f.Close()
	const tail = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > tail {
		f.Seek(st.Size()-tail, 0)
	}
	var last time.Time
	text := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		stamp, rest, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		_, msg, _ := strings.Cut(rest, " ")
		if !strings.Contains(msg, ": ") {
			continue
		}
		if at, err := time.Parse("2006-01-02T15:04:05-0700", stamp); err == nil {
			last, text = at, msg
		}
	}
	return last, text
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

// aptConf yields the files of apt.conf.d that apt reads, in its order,
// with their lines.
func (e *Env) aptConf() iter.Seq2[string, []numbered] {
	return func(yield func(string, []numbered) bool) {
		files, _ := globSorted(e.path("etc/apt/apt.conf.d/*"))
		for _, f := range files {
			if aptIgnores(filepath.Base(f)) {
				continue
			}
			ls, err := lines(f)
			if err != nil {
				continue
			}
			if !yield(f, ls) {
				return
			}
		}
	}
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
