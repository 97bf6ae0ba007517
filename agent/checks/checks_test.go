package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/patchwatch/patchwatch"
)

// setTimes gives a tree's host key and cloud-init's first-boot record the
// times the test needs (git does not keep them).
func setTimes(t *testing.T, dir string, key, firstBoot time.Time) {
	t.Helper()
	for p, at := range map[string]time.Time{"etc/ssh/ssh_host_ed25519_key.pub": key, "var/lib/cloud/instances/iid-" + filepath.Base(dir) + "/sem/config_ssh": firstBoot} {
		if err := os.Chtimes(filepath.Join(dir, p), at, at); err != nil {
			t.Fatal(err)
		}
	}
}

var firstBoot = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// treeNow is the test trees' present: the day after their last update run.
var treeNow = time.Date(2026, 3, 10, 6, 30, 0, 0, time.UTC)

func treeEnv(dir, family string) *Env {
	newer := false
	return &Env{Root: dir, Proc: filepath.Join(dir, "proc"), Family: family, KernelRelease: "6.8.0-45-generic", NewerKernel: &newer,
		Now: func() time.Time { return treeNow }}
}

// stamp gives a tree's file a modification time (git does not keep them).
func stamp(t *testing.T, path string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func byID(rs []patchwatch.CheckResult) map[string]patchwatch.CheckResult {
	m := map[string]patchwatch.CheckResult{}
	for _, r := range rs {
		m[r.ID] = r
	}
	return m
}

func TestHardenedTreePasses(t *testing.T) {
	setTimes(t, "testdata/hardened", firstBoot.Add(-2*time.Second), firstBoot)
	stamp(t, "testdata/hardened/var/lib/apt/periodic/unattended-upgrades-stamp", treeNow.Add(-24*time.Hour))
	rs := Run(context.Background(), treeEnv("testdata/hardened", "deb"), 5*time.Second)
	if len(rs) != len(patchwatch.Guidelines) {
		t.Fatalf("got %d results, want one per guideline (%d)", len(rs), len(patchwatch.Guidelines))
	}
	for i, r := range rs {
		if r.ID != patchwatch.Guidelines[i].ID {
			t.Errorf("result %d is %s, want %s", i, r.ID, patchwatch.Guidelines[i].ID)
		}
		if r.Status != patchwatch.CheckPass {
			t.Errorf("%s = %s (%s), want pass", r.ID, r.Status, r.Evidence)
		}
		if r.Evidence == "" {
			t.Errorf("%s has no evidence", r.ID)
		}
	}
	m := byID(rs)
	for id, want := range map[string]string{
		"auto-updates":      `/etc/apt/apt.conf.d/20auto-upgrades:2: APT::Periodic::Unattended-Upgrade "1";`,
		"ssh-password-auth": "/etc/ssh/sshd_config.d/50-cloud-init.conf:1: PasswordAuthentication no",
		"ssh-root-login":    "/etc/ssh/sshd_config.d/60-hardening.conf:2: PermitRootLogin=no",
		"host-firewall":     `/etc/default/ufw:2: DEFAULT_INPUT_POLICY="DROP"`,
		"remote-logging":    `/etc/rsyslog.d/90-remote.conf:3: *.* action(type="omfwd" target="logs.example.org" port="6514" protocol="tcp"`,
		"brute-force-guard": "fail2ban.service is enabled",
		"livepatch":         "no live patching is in use",
		"stale-libraries":   "2 processes read: none maps a deleted or replaced library",
		"accounts":          "1 with authorized keys, none weak; sudo asks for a password",
	} {
		if !strings.Contains(m[id].Evidence, want) {
			t.Errorf("%s evidence = %q, want it to contain %q", id, m[id].Evidence, want)
		}
	}
	if got := strings.Join(m["listening-services"].Items, ", "); got != "tcp 0.0.0.0:22 (sshd), tcp [::]:22 (sshd), udp 10.0.0.5:68 (systemd-network)" {
		t.Errorf("listening-services items = %s", got)
	}
	if got := strings.Join(m["accounts"].Items, ", "); got != "ubuntu: 1 authorized keys (ssh-ed25519)" {
		t.Errorf("accounts items = %v, want ubuntu's key only (its password is locked)", got)
	}
	if ev := m["auto-updates"].Evidence; !strings.Contains(ev, "last successful run 2026-03-09T06:30:00Z (/var/lib/apt/periodic/unattended-upgrades-stamp)") ||
		!strings.Contains(ev, "security origin allowed") {
		t.Errorf("auto-updates evidence = %q", ev)
	}
}

func TestOpenTreeFails(t *testing.T) {
	setTimes(t, "testdata/open", firstBoot.AddDate(-2, 0, 0), firstBoot)
	e := treeEnv("testdata/open", "rpm")
	newer := true
	e.NewerKernel = &newer
	// The commands a Rocky VM would answer: kpatch with a patch module
	// installed for the running kernel but not loaded, fail2ban without
	// an sshd jail.
	e.KernelRelease = "5.14.0-427.13.1.el9_4.x86_64"
	e.Commands = captures(t, map[string]capture{
		"kpatch list":                     {file: "kpatch-list-not-loaded.txt"},
		"fail2ban-client status sshd":     {file: "fail2ban-no-jail.txt", exit: 255},
		"systemd-detect-virt --container": {file: "systemd-detect-virt-none.txt", exit: 1},
	})
	rs := Run(context.Background(), e, 5*time.Second)
	m := byID(rs)
	for _, r := range rs {
		if r.Status != patchwatch.CheckFail {
			t.Errorf("%s = %s (%s), want fail", r.ID, r.Status, r.Evidence)
		}
		for _, secret := range []string{"$6$", "$y$", "fakehash", "notarealhash"} {
			if strings.Contains(r.Evidence+strings.Join(r.Items, " "), secret) {
				t.Errorf("%s leaks a password hash: %q %v", r.ID, r.Evidence, r.Items)
			}
		}
	}
	for id, want := range map[string]string{
		"auto-updates":       "/etc/dnf/automatic.conf:7: apply_updates = no",
		"ssh-password-auth":  "/etc/ssh/sshd_config:11: PasswordAuthentication yes (in a Match block)",
		"ssh-root-login":     "/etc/ssh/sshd_config:7: PermitRootLogin yes",
		"no-mail-server":     "tcp 0.0.0.0:25 (master), tcp [::]:587 (master)",
		"host-firewall":      "/etc/sysconfig/nftables.conf: no input chain drops by default",
		"accounts":           "UID 0 accounts besides root: toor",
		"no-baked-keys":      "host keys older than this VM's first boot (2026-03-01 10:00): /etc/ssh/ssh_host_ed25519_key.pub (2024-03-01 10:00)",
		"listening-services": "tcp 0.0.0.0:80 (nginx)",
		"livepatch":          "kpatch list: installed for the running kernel but not loaded: kpatch_5_14_0_427_13_1_1_2",
		"stale-libraries":    "/proc/*/maps: 2 services run replaced libraries: nginx.service, postfix.service",
		"brute-force-guard":  "fail2ban-client status sshd: Sorry but the jail 'sshd' does not exist",
		"plaintext-services": "tcp 0.0.0.0:80 (nginx): HTTP, and nothing listens on 443",
	} {
		if !strings.Contains(m[id].Evidence, want) {
			t.Errorf("%s evidence = %q, want it to contain %q", id, m[id].Evidence, want)
		}
	}
	if got := strings.Join(m["accounts"].Items, ", "); got != "toor, alice, backup, toor (UID 0), alice: 2 authorized keys (ssh-rsa 1024, ssh-ed25519), /etc/sudoers.d/90-cloud-init-users:4: rocky ALL=(ALL) NOPASSWD:ALL" {
		t.Errorf("accounts items = %s", got)
	}
	if ev := m["accounts"].Evidence; !strings.Contains(ev, "weak authorized keys (DSA, or RSA under 2048 bits): alice: ssh-rsa 1024") || !strings.Contains(ev, "sudo without a password") {
		t.Errorf("accounts evidence = %q", ev)
	}
	if got := m["stale-libraries"].Command; got != "sudo systemctl restart nginx.service postfix.service" {
		t.Errorf("stale-libraries command = %q", got)
	}
	if m["livepatch"].State != patchwatch.LivepatchCoverageEnded {
		t.Errorf("livepatch state = %q", m["livepatch"].State)
	}
}

func TestMissingFilesAreUnknown(t *testing.T) {
	e := &Env{Root: t.TempDir(), Family: "deb"}
	e.Proc = filepath.Join(e.Root, "proc")
	m := byID(Run(context.Background(), e, 5*time.Second))
	for _, id := range []string{"auto-updates", "kernel-current", "ssh-password-auth", "ssh-root-login", "no-mail-server", "host-firewall", "accounts", "listening-services", "no-baked-keys", "remote-logging"} {
		if m[id].Status != patchwatch.CheckUnknown {
			t.Errorf("%s = %s (%s), want unknown", id, m[id].Status, m[id].Evidence)
		}
	}
	// Without any brute-force guard enabled the check can say so.
	if m["brute-force-guard"].Status != patchwatch.CheckFail {
		t.Errorf("brute-force-guard = %s", m["brute-force-guard"].Status)
	}
}

func TestUnreadableFilesAreUnknown(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	root := t.TempDir()
	write(t, root, map[string]string{
		"etc/ssh/sshd_config": "PasswordAuthentication no\n",
		"etc/passwd":          "root:x:0:0:root:/root:/bin/bash\n",
		"etc/shadow":          "root:*:19800::::::\n",
	})
	for _, f := range []string{"etc/ssh/sshd_config", "etc/shadow"} {
		if err := os.Chmod(filepath.Join(root, f), 0); err != nil {
			t.Fatal(err)
		}
	}
	e := &Env{Root: root, Proc: filepath.Join(root, "proc")}
	m := byID(Run(context.Background(), e, 5*time.Second))
	for _, id := range []string{"ssh-password-auth", "ssh-root-login", "accounts"} {
		if m[id].Status != patchwatch.CheckUnknown || !strings.Contains(m[id].Evidence, "permission denied") {
			t.Errorf("%s = %s (%s), want unknown with permission denied", id, m[id].Status, m[id].Evidence)
		}
	}
}

func TestAutoUpdatesAPT(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"on", map[string]string{"etc/apt/apt.conf.d/20auto-upgrades": `APT::Periodic::Unattended-Upgrade "1";` + "\n"}, "pass"},
		{"later file turns it off", map[string]string{
			"etc/apt/apt.conf.d/20auto-upgrades": `APT::Periodic::Unattended-Upgrade "1";` + "\n",
			"etc/apt/apt.conf.d/99local":         `APT::Periodic::Unattended-Upgrade "0";` + "\n"}, "fail"},
		{"dpkg leftovers are ignored", map[string]string{
			"etc/apt/apt.conf.d/20auto-upgrades":          `APT::Periodic::Unattended-Upgrade "1";` + "\n",
			"etc/apt/apt.conf.d/20auto-upgrades.dpkg-old": `APT::Periodic::Unattended-Upgrade "0";` + "\n",
			"etc/apt/apt.conf.d/99off.disabled":           `APT::Periodic::Unattended-Upgrade "0";` + "\n"}, "pass"},
		{"unset", map[string]string{"etc/apt/apt.conf.d/70debconf": "// nothing\n"}, "fail"},
	} {
		root := t.TempDir()
		write(t, root, tc.files)
		write(t, root, map[string]string{"var/lib/apt/periodic/unattended-upgrades-stamp": ""})
		if r := autoUpdates(context.Background(), &Env{Root: root, Family: "deb"}); r.Status != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, r.Status, r.Evidence, tc.want)
		}
	}
	// A masked apt-daily-upgrade.timer runs nothing.
	root := t.TempDir()
	write(t, root, map[string]string{"etc/apt/apt.conf.d/20auto-upgrades": `APT::Periodic::Unattended-Upgrade "1";` + "\n"})
	os.MkdirAll(filepath.Join(root, "etc/systemd/system"), 0o755)
	if err := os.Symlink("/dev/null", filepath.Join(root, "etc/systemd/system/apt-daily-upgrade.timer")); err != nil {
		t.Fatal(err)
	}
	if r := autoUpdates(context.Background(), &Env{Root: root, Family: "deb"}); r.Status != "fail" || !strings.Contains(r.Evidence, "masked") {
		t.Errorf("masked timer: %s (%s)", r.Status, r.Evidence)
	}
}

func TestAutoUpdatesRPM(t *testing.T) {
	for _, tc := range []struct {
		name, unit, conf, body, want string
	}{
		{"dnf-automatic-install", "timers.target.wants/dnf-automatic-install.timer", "", "", "pass"},
		{"dnf-automatic applying", "timers.target.wants/dnf-automatic.timer", "etc/dnf/automatic.conf", "[commands]\napply_updates = True\n", "pass"},
		{"dnf-automatic downloading", "timers.target.wants/dnf-automatic.timer", "etc/dnf/automatic.conf", "[commands]\ndownload_updates = yes\n", "fail"},
		{"yum-cron", "multi-user.target.wants/yum-cron.service", "etc/yum/yum-cron.conf", "[commands]\nupdate_cmd = security\napply_updates = yes\n", "pass"},
		{"config unreadable", "timers.target.wants/dnf-automatic.timer", "", "", "unknown"},
		{"nothing enabled", "", "", "", "fail"},
	} {
		root := t.TempDir()
		if tc.unit != "" {
			p := filepath.Join(root, "etc/systemd/system", tc.unit)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink("/usr/lib/systemd/system/"+filepath.Base(p), p); err != nil {
				t.Fatal(err)
			}
		}
		if tc.conf != "" {
			write(t, root, map[string]string{tc.conf: tc.body})
		}
		write(t, root, map[string]string{"var/lib/systemd/timers/stamp-" + filepath.Base(tc.unit): ""})
		if r := autoUpdates(context.Background(), &Env{Root: root, Family: "rpm"}); r.Status != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, r.Status, r.Evidence, tc.want)
		}
	}
}

func TestStatInTree(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"var/lib/cloud/instances/i-1/sem/config_ssh": "x", "etc/real": "y"})
	for link, target := range map[string]string{
		"var/lib/cloud/instance": "/var/lib/cloud/instances/i-1", // absolute: inside the tree
		"etc/rel":                "real",
		"etc/up":                 "../../../../../../etc/real", // cannot leave the tree
		"etc/loop":               "/etc/loop",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	e := &Env{Root: root}
	for _, p := range []string{"var/lib/cloud/instance/sem/config_ssh", "etc/rel", "etc/up"} {
		if _, err := e.stat(e.path(p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := e.stat(e.path("etc/loop")); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("loop: %v", err)
	}
}

func TestBruteForceGuardLive(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"proc/1/comm": "systemd\n", "proc/733/comm": "fail2ban-server\n", "proc/self/comm": "x\n"})
	e := &Env{Root: root, Proc: filepath.Join(root, "proc"), Live: true,
		Commands: captures(t, map[string]capture{"fail2ban-client status sshd": {file: "fail2ban-status-sshd.txt"}})}
	r := bruteForceGuard(context.Background(), e)
	if r.Status != patchwatch.CheckPass || r.Evidence != "fail2ban-client status sshd: the sshd jail is active (currently failed 3, currently banned 2, total banned 37)" {
		t.Errorf("with an sshd jail: %+v", r)
	}
	// fail2ban runs, but its sshd jail does not exist: nothing guards SSH.
	e = &Env{Root: root, Proc: filepath.Join(root, "proc"), Live: true,
		Commands: captures(t, map[string]capture{"fail2ban-client status sshd": {file: "fail2ban-no-jail.txt", exit: 255}})}
	if r := bruteForceGuard(context.Background(), e); r.Status != patchwatch.CheckFail || !strings.Contains(r.Evidence, "does not exist") {
		t.Errorf("without the jail: %+v", r)
	}
	// sshguard running passes.
	write(t, root, map[string]string{"proc/901/comm": "sshguard\n"})
	if r := bruteForceGuard(context.Background(), e); r.Status != patchwatch.CheckPass || r.Evidence != "sshguard (pid 901) is running" {
		t.Errorf("sshguard: %+v", r)
	}
}

// Keys only, and only from the office network: nothing to guess.
func TestBruteForceGuardRestrictedSSH(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"etc/ssh/sshd_config": "PasswordAuthentication no\nKbdInteractiveAuthentication no\nAllowUsers deploy@10.20.0.0/16 ops@10.20.0.0/16\n"})
	e := &Env{Root: root, Proc: filepath.Join(root, "proc")}
	if r := bruteForceGuard(context.Background(), e); r.Status != patchwatch.CheckPass || !strings.Contains(r.Evidence, "AllowUsers deploy@10.20.0.0/16") {
		t.Errorf("restricted: %+v", r)
	}
	write(t, root, map[string]string{"etc/ssh/sshd_config": "PasswordAuthentication no\nKbdInteractiveAuthentication no\nAllowUsers deploy@10.20.0.0/16 ops\n"})
	e = &Env{Root: root, Proc: filepath.Join(root, "proc")}
	if r := bruteForceGuard(context.Background(), e); r.Status != patchwatch.CheckFail {
		t.Errorf("ops from anywhere: %+v", r)
	}
	// Every key only from the bastion.
	root = t.TempDir()
	write(t, root, map[string]string{
		"etc/ssh/sshd_config":              "PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
		"etc/passwd":                       "root:x:0:0:root:/root:/bin/bash\ndeploy:x:1000:1000::/home/deploy:/bin/bash\nsvc:x:998:998::/:/usr/sbin/nologin\n",
		"home/deploy/.ssh/authorized_keys": `from="10.20.0.5,10.20.0.6",no-agent-forwarding ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5ZbVpO2ZlEGD3Y0YrP1w5k9m9cE8QbU2Xw8fwnR7cE deploy@bastion` + "\n",
		"root/.ssh/authorized_keys":        `from="10.20.0.5" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5ZbVpO2ZlEGD3Y0YrP1w5k9m9cE8QbU2Xw8fwnR7cE root@bastion` + "\n",
	})
	e = &Env{Root: root, Proc: filepath.Join(root, "proc")}
	if r := bruteForceGuard(context.Background(), e); r.Status != patchwatch.CheckPass || r.Evidence != "SSH takes keys only, and every authorized key only from=10.20.0.5; 10.20.0.5,10.20.0.6" {
		t.Errorf("keys from the bastion: %+v", r)
	}
	write(t, root, map[string]string{"root/.ssh/authorized_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5ZbVpO2ZlEGD3Y0YrP1w5k9m9cE8QbU2Xw8fwnR7cE root@laptop\n"})
	e = &Env{Root: root, Proc: filepath.Join(root, "proc")}
	if r := bruteForceGuard(context.Background(), e); r.Status != patchwatch.CheckFail {
		t.Errorf("root's key from anywhere: %+v", r)
	}
	// No SSH server at all: nothing to guess.
	e = &Env{Root: t.TempDir(), Packages: map[string]bool{"bash": true}}
	if r := bruteForceGuard(context.Background(), e); r.Status != patchwatch.CheckPass || r.Evidence != "no SSH server is installed" {
		t.Errorf("no sshd: %+v", r)
	}
}

func TestAccountsWithoutPassword(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nguest:x:1001:1001::/home/guest:/bin/bash\nsvc:x:998:998::/:/usr/sbin/nologin\nold::1002:1002::/home/old:/bin/sh\n",
		"etc/shadow": "root:*:19800::::::\nguest::19800::::::\nsvc::19800::::::\n",
	})
	r := accounts(context.Background(), &Env{Root: root})
	if r.Status != patchwatch.CheckFail || r.Evidence != "accounts with a login shell and no password: guest, old" {
		t.Errorf("accounts = %s %q %v", r.Status, r.Evidence, r.Items)
	}
}

func write(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSSHD(t *testing.T) {
	for _, tc := range []struct {
		name           string
		files          map[string]string
		password, root string
	}{
		{"defaults", map[string]string{"etc/ssh/sshd_config": "UsePAM yes\n"}, "fail", "pass"},
		{"keys only", map[string]string{"etc/ssh/sshd_config": "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"}, "pass", "pass"},
		{"kbd without pam", map[string]string{"etc/ssh/sshd_config": "PasswordAuthentication no\n"}, "pass", "pass"},
		{"old challenge-response name", map[string]string{"etc/ssh/sshd_config": "PasswordAuthentication no\nChallengeResponseAuthentication yes\nUsePAM yes\n"}, "fail", "pass"},
		{"aliases: the first wins", map[string]string{"etc/ssh/sshd_config": "PasswordAuthentication no\nChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\nUsePAM yes\n"}, "pass", "pass"},
		{"first value wins", map[string]string{"etc/ssh/sshd_config": "passwordauthentication NO\nPasswordAuthentication yes\nPermitRootLogin without-password\nPermitRootLogin yes\n"}, "pass", "pass"},
		{"relative include", map[string]string{
			"etc/ssh/sshd_config":         "Include conf.d/*.conf\nPasswordAuthentication no\n",
			"etc/ssh/conf.d/10-pw.conf":   "PasswordAuthentication yes\n",
			"etc/ssh/conf.d/20-root.conf": "PermitRootLogin yes\n",
		}, "fail", "fail"},
		{"include sorted", map[string]string{
			"etc/ssh/sshd_config": "Include /etc/ssh/d/*\n",
			"etc/ssh/d/b.conf":    "PasswordAuthentication yes\n",
			"etc/ssh/d/a.conf":    "PasswordAuthentication no\n",
		}, "pass", "pass"},
		{"match block enables passwords", map[string]string{
			"etc/ssh/sshd_config": "PasswordAuthentication no\nMatch Address 10.0.0.0/8\n  PasswordAuthentication yes\n  PermitRootLogin yes\n",
		}, "fail", "fail"},
		{"match all ends the block", map[string]string{
			"etc/ssh/sshd_config": "Match User x\n  PermitRootLogin no\nMatch all\nPasswordAuthentication no\nPermitRootLogin forced-commands-only\n",
		}, "pass", "pass"},
		{"include inside a match block", map[string]string{
			"etc/ssh/sshd_config": "PasswordAuthentication no\nMatch Group legacy\nInclude /etc/ssh/legacy.conf\n",
			"etc/ssh/legacy.conf": "PasswordAuthentication yes\n",
		}, "fail", "pass"},
		{"a Match block in an include ends with the include", map[string]string{
			"etc/ssh/sshd_config":                "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nPasswordAuthentication no\n",
			"etc/ssh/sshd_config.d/50-sftp.conf": "Match Group sftp\n  ChrootDirectory %h\n  PermitRootLogin no\n",
		}, "pass", "pass"},
		{"match all inside an include from a match block stays conditional", map[string]string{
			"etc/ssh/sshd_config": "Match User x\nInclude /etc/ssh/x.conf\nMatch all\nPasswordAuthentication no\n",
			"etc/ssh/x.conf":      "Match all\nPasswordAuthentication yes\n",
		}, "fail", "pass"},
		{"trailing comments", map[string]string{"etc/ssh/sshd_config": "PasswordAuthentication no # keys only\nKbdInteractiveAuthentication no\nPermitRootLogin no #never\n"}, "pass", "pass"},
		{"include loop", map[string]string{"etc/ssh/sshd_config": "Include /etc/ssh/sshd_config\n"}, "unknown", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, tc.files)
			e := &Env{Root: root, Proc: filepath.Join(root, "proc")}
			if r := sshPasswordAuth(context.Background(), e); r.Status != tc.password {
				t.Errorf("ssh-password-auth = %s (%s), want %s", r.Status, r.Evidence, tc.password)
			}
			if r := sshRootLogin(context.Background(), e); r.Status != tc.root {
				t.Errorf("ssh-root-login = %s (%s), want %s", r.Status, r.Evidence, tc.root)
			}
		})
	}
}

func TestNFTInputDrops(t *testing.T) {
	for _, tc := range []struct {
		name, ruleset string
		want          bool
	}{
		{"policy drop", "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept\n\t\ttcp dport 22 accept\n\t}\n}\n", true},
		{"policy accept", "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n", false},
		{"drop on forward only", "table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority 0; policy drop;\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0;\n\t}\n}\n", false},
		{"final reject", "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 22 accept\n\t\treject with icmp type port-unreachable\n\t}\n}\n", true},
		{"regular chain with drop policy text", "table ip filter {\n\tchain ufw-user-input {\n\t\tdrop\n\t}\n}\n", false},
		{"nested set before final accept", "table inet f {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tip saddr {\n\t\t\t10.0.0.1,\n\t\t} drop\n\t\taccept\n\t}\n}\n", false},
		{"empty", "", false},
	} {
		if _, got := nftInputDrops(tc.ruleset); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIPTablesInputDrops(t *testing.T) {
	for text, want := range map[string]bool{
		"-P INPUT DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT\n":                                                          true,
		"-P INPUT ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n":                                                        false,
		"-P INPUT ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -j REJECT --reject-with icmp-host-prohibited\n": true,
		"*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n":                                                      true,
		"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.0/8 -j DROP\nCOMMIT\n":                                         false,
	} {
		if _, got := iptablesInputDrops(text); got != want {
			t.Errorf("%q: got %v, want %v", text, got, want)
		}
	}
}

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:0019":                         "127.0.0.1:25",
		"0500000A:1F90":                         "10.0.0.5:8080",
		"00000000000000000000000001000000:0277": "[::1]:631",
		"0000000000000000FFFF00000100007F:0019": "[::ffff:127.0.0.1]:25",
		"B80D0120000000000000000001000000:01BB": "[2001:db8::1]:443",
	} {
		got, err := parseProcAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parseProcAddr(%s) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "XYZ:0019", "0100007F:FFFFF", "01:0019"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q) succeeded", bad)
		}
	}
}

// A check that hangs must not hold up the report.
func TestRunTimeLimit(t *testing.T) {
	// In a synctest bubble the clock is fake: the hung check's hour passes
	// at once, and the limit is exact.
	synctest.Test(t, func(t *testing.T) {
		e := treeEnv("testdata/hardened", "deb")
		hung := Check{ID: "hung", Run: func(ctx context.Context, e *Env) patchwatch.CheckResult {
			time.Sleep(time.Hour) // a command that ignores its context
			return patchwatch.CheckResult{Status: patchwatch.CheckPass}
		}}
		start := time.Now()
		r := runOne(context.Background(), e, hung, 10*time.Second)
		if r.Status != patchwatch.CheckUnknown || r.ID != "hung" || r.Evidence != "did not finish within 10s" {
			t.Errorf("hung check = %+v", r)
		}
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("waited %s for a 10s limit", waited)
		}
		fast := Check{ID: "fast", Run: noMailServer}
		if r := runOne(context.Background(), e, fast, 10*time.Second); r.Status != patchwatch.CheckPass || r.ID != "fast" {
			t.Errorf("fast check = %+v", r)
		}
		time.Sleep(time.Hour) // fake time: lets the hung check end before the bubble does
	})
}

func FuzzParseProcNet(f *testing.F) {
	b, _ := os.ReadFile("testdata/hardened/proc/net/tcp")
	f.Add(string(b), "tcp")
	b, _ = os.ReadFile("testdata/hardened/proc/net/udp")
	f.Add(string(b), "udp")
	f.Fuzz(func(t *testing.T, text, proto string) {
		socks, err := parseProcNet(text, proto, tcpListen)
		if err == nil {
			for _, s := range socks {
				if s.addr.Addr().IsLoopback() {
					t.Errorf("loopback socket kept: %v", s)
				}
			}
		}
	})
}

func FuzzNFTInputDrops(f *testing.F) {
	f.Add("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n")
	f.Fuzz(func(t *testing.T, ruleset string) { nftInputDrops(ruleset) })
}

func FuzzReadSSHDConfig(f *testing.F) {
	f.Add("Include d/*.conf\nPasswordAuthentication no\nMatch User x\n PasswordAuthentication yes\n")
	f.Fuzz(func(t *testing.T, config string) {
		root := t.TempDir()
		write(t, root, map[string]string{"etc/ssh/sshd_config": config})
		e := &Env{Root: root}
		_, _ = e.readSSHDConfig()
	})
}

func TestResultBounds(t *testing.T) {
	items := make([]string, 300)
	for i := range items {
		items[i] = fmt.Sprintf("tcp 0.0.0.0:%d", 1000+i)
	}
	r := result(patchwatch.CheckFail, strings.Repeat("é", 400), items...)
	if len(r.Items) != maxItems || r.Items[maxItems-1] != "and 201 more" {
		t.Errorf("items: %d, last %q", len(r.Items), r.Items[len(r.Items)-1])
	}
	if !utf8.ValidString(r.Evidence) || len(r.Evidence) > maxEvidence+len("…") {
		t.Errorf("evidence: %d bytes, valid %v", len(r.Evidence), utf8.ValidString(r.Evidence))
	}
}

// BenchmarkRun measures all checks against a root tree: the agent's added
// cost per report.
func BenchmarkRun(b *testing.B) {
	e := treeEnv("testdata/hardened", "deb")
	for b.Loop() {
		Run(context.Background(), e, 10*time.Second)
	}
}

func symlink(t *testing.T, target, link string) error {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	return os.Symlink(target, link)
}
