package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// sshdSetting is one keyword's value and where it came from.
type sshdSetting struct {
	value, where string
}

// sshdConfig is the configuration sshd would use: global settings (the
// first value wins, as in sshd) and the settings inside Match blocks, which
// apply to some connections only.
type sshdConfig struct {
	global map[string]sshdSetting
	match  []sshdSetting // keyword=value inside Match blocks, with their place
	files  int
}

const sshdMaxIncludeDepth = 16

// readSSHDConfig parses sshd_config with its Include files, the way sshd
// does: keywords are case-insensitive, the first value of a keyword wins,
// Include globs are relative to /etc/ssh and are expanded in sorted order.
func (e *Env) readSSHDConfig() (*sshdConfig, error) {
	c := &sshdConfig{global: map[string]sshdSetting{}}
	if err := e.readSSHDFile("/etc/ssh/sshd_config", c, false, 0); err != nil {
		return nil, err
	}
	return c, nil
}

// readSSHDFile reads one file. An included file starts in its includer's
// Match state and cannot change it (sshd restores the state after each
// include); one included from inside a Match block is conditional as a
// whole, "Match all" included.
func (e *Env) readSSHDFile(name string, c *sshdConfig, conditional bool, depth int) error {
	if depth > sshdMaxIncludeDepth {
		return fmt.Errorf("%s: Include nested too deeply", name)
	}
	ls, err := lines(e.path(name))
	if err != nil {
		return err
	}
	c.files++
	inMatch := conditional
	for _, l := range ls {
		key, value := splitKeyword(l.text)
		key = strings.ToLower(key)
		where := fmt.Sprintf("%s:%d: %s", name, l.n, l.text)
		switch key {
		case "include":
			for _, pattern := range strings.Fields(value) {
				if !filepath.IsAbs(pattern) {
					pattern = filepath.Join("/etc/ssh", pattern)
				}
				matches, _ := filepath.Glob(e.path(pattern))
				slices.Sort(matches)
				for _, m := range matches {
					rel := e.rel(m)
					// A missing or unreadable included file is an error for
					// sshd too.
					if err := e.readSSHDFile(rel, c, inMatch, depth+1); err != nil {
						return err
					}
				}
			}
		case "match":
			// "Match all" ends a conditional block for every connection,
			// except in a file included from a Match block.
			inMatch = conditional || strings.ToLower(strings.TrimSpace(value)) != "all"
		default:
			// KbdInteractiveAuthentication's old name is an alias of it
			// since OpenSSH 8.7: the first of the two wins.
			if key == "challengeresponseauthentication" {
				key = "kbdinteractiveauthentication"
			}
			value = strings.ToLower(strings.Trim(value, `"`))
			if inMatch {
				c.match = append(c.match, sshdSetting{key + "=" + value, where})
			} else if _, seen := c.global[key]; !seen {
				c.global[key] = sshdSetting{value, where}
			}
		}
	}
	return nil
}

// splitKeyword splits "Keyword value" and "Keyword=value", dropping a
// trailing comment (sshd ends a line's arguments at a word starting with #).
func splitKeyword(line string) (string, string) {
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return line, ""
	}
	args := strings.Fields(line[i:])
	if len(args) > 0 && strings.HasPrefix(args[0], "=") {
		args[0] = strings.TrimPrefix(args[0], "=")
	}
	for j, a := range args {
		if strings.HasPrefix(a, "#") {
			args = args[:j]
			break
		}
	}
	return line[:i], strings.TrimSpace(strings.Join(args, " "))
}

// effectiveSSHD returns sshd's effective global settings, from sshd -T on
// the live system (which knows the compiled-in defaults) or else from the
// files with OpenSSH's defaults, and the Match-block settings from the files.
func (e *Env) effectiveSSHD(ctx context.Context) (global map[string]sshdSetting, c *sshdConfig, err error) {
	c, fileErr := e.readSSHDConfig()
	if out, found, runErr := run(ctx, e, "sshd", "-T"); found && runErr == nil {
		global = map[string]sshdSetting{}
		for l := range strings.Lines(out) {
			k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
			global[k] = sshdSetting{v, "sshd -T: " + strings.TrimSpace(l)}
		}
		// sshd before 8.7 prints the old name.
		if _, ok := global["kbdinteractiveauthentication"]; !ok {
			if v, ok := global["challengeresponseauthentication"]; ok {
				global["kbdinteractiveauthentication"] = v
			}
		}
		if fileErr != nil {
			c = &sshdConfig{global: map[string]sshdSetting{}}
		}
		return global, c, nil
	}
	if fileErr != nil {
		return nil, nil, fileErr
	}
	global = map[string]sshdSetting{}
	for k, v := range c.global {
		global[k] = v
	}
	defaults := map[string]string{
		"passwordauthentication":       "yes",
		"kbdinteractiveauthentication": "yes",
		"permitrootlogin":              "prohibit-password",
		"usepam":                       "no",
	}
	for k, v := range defaults {
		if _, ok := global[k]; !ok {
			global[k] = sshdSetting{v, k + " is not set: OpenSSH's default is " + v}
		}
	}
	return global, c, nil
}

// sshd reads sshd's configuration once for both SSH checks.
func (e *Env) sshd(ctx context.Context) (map[string]sshdSetting, *sshdConfig, error) {
	e.sshdOnce.Do(func() { e.sshdGlobal, e.sshdFiles, e.sshdErr = e.effectiveSSHD(ctx) })
	return e.sshdGlobal, e.sshdFiles, e.sshdErr
}

func (e *Env) sshdMissing() (patchwatch.CheckResult, bool) {
	if exists(e.path("etc/ssh/sshd_config")) {
		return patchwatch.CheckResult{}, false
	}
	if e.Packages != nil && !e.Packages["openssh-server"] {
		return result(patchwatch.CheckPass, "no SSH server is installed"), true
	}
	return result(patchwatch.CheckUnknown, "/etc/ssh/sshd_config is missing"), true
}

func sshPasswordAuth(ctx context.Context, e *Env) patchwatch.CheckResult {
	if r, missing := e.sshdMissing(); missing {
		return r
	}
	global, c, err := e.sshd(ctx)
	if err != nil {
		return result(patchwatch.CheckUnknown, err.Error())
	}
	pw := global["passwordauthentication"]
	kbd := global["kbdinteractiveauthentication"]
	pam := global["usepam"]
	var bad []string
	if pw.value == "yes" {
		bad = append(bad, pw.where)
	}
	// Keyboard-interactive logins ask for the password through PAM; without
	// PAM sshd has nothing to ask with.
	if kbd.value == "yes" && pam.value == "yes" {
		bad = append(bad, kbd.where)
	}
	for _, m := range c.match {
		if m.value == "passwordauthentication=yes" || m.value == "kbdinteractiveauthentication=yes" && pam.value == "yes" {
			bad = append(bad, m.where+" (in a Match block)")
		}
	}
	if len(bad) > 0 {
		return result(patchwatch.CheckFail, strings.Join(bad, "; "))
	}
	return result(patchwatch.CheckPass, pw.where+"; "+kbd.where)
}

func sshRootLogin(ctx context.Context, e *Env) patchwatch.CheckResult {
	if r, missing := e.sshdMissing(); missing {
		return r
	}
	global, c, err := e.sshd(ctx)
	if err != nil {
		return result(patchwatch.CheckUnknown, err.Error())
	}
	var bad []string
	root := global["permitrootlogin"]
	if !rootLoginSafe(root.value) {
		bad = append(bad, root.where)
	}
	for _, m := range c.match {
		if v, ok := strings.CutPrefix(m.value, "permitrootlogin="); ok && !rootLoginSafe(v) {
			bad = append(bad, m.where+" (in a Match block)")
		}
	}
	if len(bad) > 0 {
		return result(patchwatch.CheckFail, strings.Join(bad, "; "))
	}
	return result(patchwatch.CheckPass, root.where)
}

// rootLoginSafe reports whether a PermitRootLogin value refuses root
// password logins ("without-password" is the old name of
// prohibit-password, and sshd -T still prints it on older releases).
func rootLoginSafe(v string) bool {
	switch v {
	case "no", "prohibit-password", "without-password", "forced-commands-only":
		return true
	}
	return false
}

// bakedKeyMargin is how much older than cloud-init's first-boot SSH setup
// a host key may be and still count as made at that boot.
const bakedKeyMargin = time.Hour

// noBakedKeys finds SSH host keys that came with the image. cloud-init's
// ssh module runs once per instance, at its first boot, and records that
// in /var/lib/cloud/instance/sem/config_ssh; it deletes and regenerates
// the host keys then, unless told not to. A host key much older than that
// record was not made for this VM. Only the public halves' times are read.
func noBakedKeys(ctx context.Context, e *Env) patchwatch.CheckResult {
	keys, _ := filepath.Glob(e.path("etc/ssh/ssh_host_*_key.pub"))
	if len(keys) == 0 {
		if e.Packages != nil && !e.Packages["openssh-server"] {
			return result(patchwatch.CheckPass, "no SSH server is installed")
		}
		return result(patchwatch.CheckUnknown, "no /etc/ssh/ssh_host_*_key.pub")
	}
	const sem = "/var/lib/cloud/instance/sem/config_ssh"
	st, err := e.stat(e.path(sem))
	if err != nil {
		return result(patchwatch.CheckUnknown, "no record of cloud-init's first-boot SSH setup: "+sem+" is missing")
	}
	firstBoot := st.ModTime()
	var baked []string
	for _, k := range keys {
		kst, err := os.Stat(k)
		if err != nil {
			return result(patchwatch.CheckUnknown, err.Error())
		}
		if kst.ModTime().Before(firstBoot.Add(-bakedKeyMargin)) {
			baked = append(baked, fmt.Sprintf("%s (%s)", e.rel(k), kst.ModTime().UTC().Format("2006-01-02 15:04")))
		}
	}
	when := firstBoot.UTC().Format("2006-01-02 15:04")
	if len(baked) > 0 {
		return result(patchwatch.CheckFail, "host keys older than this VM's first boot ("+when+"): "+strings.Join(baked, ", "), baked...)
	}
	return result(patchwatch.CheckPass, fmt.Sprintf("%d host keys made at or after this VM's first boot (%s)", len(keys), when))
}
