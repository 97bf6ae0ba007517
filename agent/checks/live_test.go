package checks

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/patchwatch/patchwatch"
)

func liveEnv(t *testing.T, root, family string, cmds map[string]capture) *Env {
	t.Helper()
	e := treeEnv(root, family)
	e.Live = true
	e.Commands = captures(t, cmds)
	return e
}

func TestLivepatch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cmds       map[string]capture
		kernel     string
		want, st   string
		evidence   string
		firstItems string
	}{
		{"canonical-livepatch applied", map[string]capture{"canonical-livepatch status --format json": {file: "livepatch-applied.json"}}, "",
			"pass", patchwatch.LivepatchApplied, "kernel 6.8.0-45.45-generic, support supported, patch state applied, patch version 104.1; 2 fixes applied", "CVE-2024-26925, CVE-2024-36016"},
		{"canonical-livepatch end of life", map[string]capture{"canonical-livepatch status --format json": {file: "livepatch-eol.json"}}, "",
			"fail", patchwatch.LivepatchCoverageEnded, "the running kernel's Livepatch coverage has ended", ""},
		{"ubuntu pro api", map[string]capture{"pro api u.pro.security.status.reboot_required.v1": {file: "pro-reboot-required-livepatched.json"}}, "",
			"pass", patchwatch.LivepatchApplied, "reboot_required yes-kernel-livepatches-applied", ""},
		{"kpatch loaded", map[string]capture{"kpatch list": {file: "kpatch-list-loaded.txt"}}, "5.14.0-427.13.1.el9_4.x86_64",
			"pass", "", "kpatch list: loaded kpatch_5_14_0_427_13_1_1_2", "kpatch_5_14_0_427_13_1_1_2"},
		{"kpatch installed for another kernel", map[string]capture{"kpatch list": {file: "kpatch-list-not-loaded.txt"}}, "5.14.0-503.11.1.el9_5.x86_64",
			"pass", "", "no patch modules loaded", ""},
		{"none", nil, "", "pass", "", "no live patching is in use", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := liveEnv(t, t.TempDir(), "deb", tc.cmds)
			if tc.kernel != "" {
				e.KernelRelease = tc.kernel
			}
			r := livepatch(context.Background(), e)
			if r.Status != tc.want || r.State != tc.st || !strings.Contains(r.Evidence, tc.evidence) || strings.Join(r.Items, ", ") != tc.firstItems {
				t.Errorf("got %s state %q %q items %v", r.Status, r.State, r.Evidence, r.Items)
			}
		})
	}
}

// In a container the kernel is the host's: kernel and reboot checks are
// unknown, with the reason, never fail.
func TestContainerKernelChecksUnknown(t *testing.T) {
	newer := true
	for name, setup := range map[string]func(root string) *Env{
		"systemd-detect-virt": func(root string) *Env {
			return liveEnv(t, root, "deb", map[string]capture{"systemd-detect-virt --container": {file: "systemd-detect-virt-lxc.txt"},
				"canonical-livepatch status --format json": {file: "livepatch-eol.json"}})
		},
		"/proc/1/environ": func(root string) *Env {
			write(t, root, map[string]string{"proc/1/environ": "container=lxc\x00PATH=/usr/sbin:/usr/bin\x00container_ttys=\x00"})
			return treeEnv(root, "deb")
		},
		"/.dockerenv": func(root string) *Env {
			write(t, root, map[string]string{".dockerenv": ""})
			return treeEnv(root, "deb")
		},
	} {
		e := setup(t.TempDir())
		e.NewerKernel = &newer
		for _, check := range []func(context.Context, *Env) patchwatch.CheckResult{kernelCurrent, livepatch} {
			if r := check(context.Background(), e); r.Status != patchwatch.CheckUnknown || !strings.Contains(r.Evidence, "container") {
				t.Errorf("%s: %+v", name, r)
			}
		}
		if r := kernelCurrent(context.Background(), e); r.State != patchwatch.KernelInContainer {
			t.Errorf("%s: kernel-current state %q", name, r.State)
		}
	}
	// systemd-detect-virt says none: a VM, checked as usual.
	e := liveEnv(t, t.TempDir(), "deb", map[string]capture{"systemd-detect-virt --container": {file: "systemd-detect-virt-none.txt", exit: 1}})
	e.NewerKernel = &newer
	if r := kernelCurrent(context.Background(), e); r.Status != patchwatch.CheckFail {
		t.Errorf("VM: %+v", r)
	}
}

func TestStaleLibrariesNeedsRestarting(t *testing.T) {
	e := liveEnv(t, t.TempDir(), "rpm", map[string]capture{"needs-restarting -s": {file: "needs-restarting-s.txt"}})
	r := staleLibraries(context.Background(), e)
	if r.Status != patchwatch.CheckFail || r.Command != "sudo systemctl restart NetworkManager.service sshd.service systemd-logind.service" {
		t.Errorf("got %+v", r)
	}
}

func TestStaleLibrariesInitAndSessions(t *testing.T) {
	root := t.TempDir()
	deleted := "7f0c6e200000-7f0c6e28d000 r-xp 00000000 fd:00 8391233 /usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)\n"
	write(t, root, map[string]string{
		"proc/1/comm": "systemd\n", "proc/1/maps": deleted, "proc/1/cgroup": "0::/init.scope\n",
		"proc/2200/comm": "bash\n", "proc/2200/maps": deleted, "proc/2200/cgroup": "0::/user.slice/user-1000.slice/session-4.scope\n",
	})
	r := staleLibraries(context.Background(), treeEnv(root, "deb"))
	if r.Status != patchwatch.CheckFail || r.Command != "sudo systemctl daemon-reexec" || !strings.Contains(r.Evidence, "and 1 processes outside services") {
		t.Errorf("got %+v", r)
	}
}

func TestAutoUpdatesAPTEffect(t *testing.T) {
	failedLog := `2026-03-09 06:18:44,502 INFO Starting unattended upgrades script
2026-03-09 06:18:44,503 INFO Allowed origins are: origin=Ubuntu,archive=noble, origin=Ubuntu,archive=noble-security
2026-03-09 06:18:47,921 INFO Packages that will be upgraded: libssl3t64 openssl
2026-03-09 06:18:55,306 ERROR Installing the upgrades failed!
2026-03-09 06:18:55,306 ERROR error message: installArchives() failed
2026-03-09 06:18:55,307 ERROR dpkg returned an error! See /var/log/unattended-upgrades/unattended-upgrades-dpkg.log for details
`
	noSecurityLog := "2026-03-09 06:18:44,502 INFO Starting unattended upgrades script\n2026-03-09 06:18:44,503 INFO Allowed origins are: origin=Ubuntu,archive=noble, origin=Ubuntu,archive=noble-updates\n2026-03-09 06:18:49,870 INFO No packages found that can be upgraded unattended and no pending auto-removals\n"
	held := "Package: linux-image-generic\nStatus: hold ok installed\nVersion: 6.8.0-45.45\n\nPackage: openssl\nStatus: install ok installed\nVersion: 3.0.13-0ubuntu3.4\n\n"
	on := map[string]string{"etc/apt/apt.conf.d/20auto-upgrades": "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n"}
	for _, tc := range []struct {
		name      string
		files     map[string]string
		stampAge  time.Duration
		want, has string
	}{
		{"ran yesterday", nil, 24 * time.Hour, "pass", "last successful run"},
		{"not for a week", nil, 7 * 24 * time.Hour, "fail", "more than 3 days ago"},
		{"never ran", nil, -1, "fail", "has never run"},
		{"last run failed", map[string]string{"var/log/unattended-upgrades/unattended-upgrades.log": failedLog}, 2 * 24 * time.Hour, "fail", "failed: Installing the upgrades failed! | error message: installArchives() failed"},
		{"no security origin", map[string]string{"var/log/unattended-upgrades/unattended-upgrades.log": noSecurityLog}, 24 * time.Hour, "fail", "no security origin is allowed"},
		{"held kernel", map[string]string{"var/lib/dpkg/status": held}, 24 * time.Hour, "fail", "1 held packages get no updates: linux-image-generic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, on)
			write(t, root, tc.files)
			if tc.stampAge >= 0 {
				write(t, root, map[string]string{"var/lib/apt/periodic/unattended-upgrades-stamp": ""})
				stamp(t, filepath.Join(root, "var/lib/apt/periodic/unattended-upgrades-stamp"), treeNow.Add(-tc.stampAge))
			}
			r := autoUpdates(context.Background(), treeEnv(root, "deb"))
			if r.Status != tc.want || !strings.Contains(r.Evidence, tc.has) {
				t.Errorf("got %s %q", r.Status, r.Evidence)
			}
		})
	}
}

func TestAutoUpdatesDNFEffect(t *testing.T) {
	for _, tc := range []struct {
		name      string
		service   capture
		now       time.Time
		want, has string
		lock      string // versionlock.list
	}{
		{"triggered this morning", capture{file: "systemctl-show-dnf-automatic-install-service.txt"}, treeNow, "pass", "last triggered 2026-03-10T06:14:02Z (systemctl show dnf-automatic-install.timer)", ""},
		{"run failed", capture{file: "systemctl-show-dnf-automatic-install-service-failed.txt"}, treeNow, "fail", "Result=exit-code ExecMainStatus=1", ""},
		{"not triggered for days", capture{file: "systemctl-show-dnf-automatic-install-service.txt"}, treeNow.AddDate(0, 0, 5), "fail", "more than 3 days ago", ""},
		{"kernel locked", capture{file: "systemctl-show-dnf-automatic-install-service.txt"}, treeNow, "fail", "1 packages are locked or excluded and get no updates: kernel-core-0:5.14.0-427.13.1.el9_4.* (versionlock)",
			"# Added lock on Tue Mar  3 10:12:44 2026\nkernel-core-0:5.14.0-427.13.1.el9_4.*\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			p := filepath.Join(root, "etc/systemd/system/timers.target.wants/dnf-automatic-install.timer")
			if tc.lock != "" {
				write(t, root, map[string]string{"etc/dnf/plugins/versionlock.list": tc.lock})
			}
			write(t, root, map[string]string{"var/log/dnf.rpm.log": "2026-03-10T06:14:20+0000 SUBDEBUG Upgrade: openssl-libs-1:3.0.7-28.el9_4.x86_64\n2026-03-10T06:14:21+0000 INFO --- logging initialized ---\n"})
			if err := symlink(t, "/usr/lib/systemd/system/dnf-automatic-install.timer", p); err != nil {
				t.Fatal(err)
			}
			e := liveEnv(t, root, "rpm", map[string]capture{
				"systemctl show dnf-automatic-install.timer --property=LastTriggerUSec":                    {file: "systemctl-show-dnf-automatic-install-timer.txt"},
				"systemctl show dnf-automatic-install.service --property=Result --property=ExecMainStatus": tc.service,
			})
			e.Now = func() time.Time { return tc.now }
			r := autoUpdates(context.Background(), e)
			if r.Status != tc.want || !strings.Contains(r.Evidence, tc.has) {
				t.Errorf("got %s %q", r.Status, r.Evidence)
			}
			if tc.want == "pass" && !strings.Contains(r.Evidence, "last dnf transaction 2026-03-10T06:14:20Z: Upgrade: openssl-libs") {
				t.Errorf("no transaction in %q", r.Evidence)
			}
		})
	}
}

func TestHostFirewallIPv6(t *testing.T) {
	root := "testdata/hardened" // IPv6 on: it has /proc/net/tcp6
	for _, tc := range []struct {
		name      string
		cmds      map[string]capture
		want, has string
	}{
		{"inet table covers both", map[string]capture{"nft list ruleset": {file: "nft-inet.txt"}}, "pass", "table inet filter: chain input"},
		{"ip table leaves IPv6 open", map[string]capture{"nft list ruleset": {file: "nft-ip-only.txt"}}, "fail", "IPv4 drops by default but IPv6 does not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := liveEnv(t, root, "deb", tc.cmds)
			// Only the live ruleset: no ufw fallback for these cases.
			e.Root = t.TempDir()
			r := hostFirewall(context.Background(), e)
			if r.Status != tc.want || !strings.Contains(r.Evidence, tc.has) {
				t.Errorf("got %s %q", r.Status, r.Evidence)
			}
			if tc.want == "pass" && strings.Join(r.Items, ", ") != "tcp 0.0.0.0:22 (sshd): accepted, tcp [::]:22 (sshd): accepted, tcp port 443: accepted, nothing listens" {
				t.Errorf("items = %v", r.Items)
			}
		})
	}
}

func TestFirewalldTrustedZone(t *testing.T) {
	e := liveEnv(t, "testdata/hardened", "rpm", map[string]capture{
		"firewall-cmd --state":          {file: "firewall-cmd-state-running.txt"},
		"firewall-cmd --list-all-zones": {file: "firewall-cmd-list-all-zones-trusted.txt"},
	})
	// firewalld's own ruleset ends in a reject, but the trusted zone
	// accepts before it: the zone decides.
	e.Commands.(captureCommander)["nft list ruleset"] = capture{file: "nft-inet.txt"}
	e.Root = t.TempDir()
	r := hostFirewall(context.Background(), e)
	if r.Status != patchwatch.CheckFail || !strings.Contains(r.Evidence, "active zone trusted has target ACCEPT") {
		t.Errorf("got %s %q", r.Status, r.Evidence)
	}
}

func TestPlaintextServicesProbes(t *testing.T) {
	// Port 80 redirects to https: the redirect is the fix.
	redirect := httptest.NewServer(http.RedirectHandler("https://www.example.org/", http.StatusMovedPermanently))
	defer redirect.Close()
	e := treeEnv("testdata/open", "rpm")
	e.Dial = dialTo(redirect.Listener.Addr().String())
	r := plaintextServices(context.Background(), e)
	if r.Status != patchwatch.CheckPass || !strings.Contains(strings.Join(r.Items, ","), "tcp 0.0.0.0:80 (nginx): redirects to https://www.example.org/") {
		t.Errorf("redirect: %+v", r)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("welcome")) }))
	defer plain.Close()
	e.Dial = dialTo(plain.Listener.Addr().String())
	if r := plaintextServices(context.Background(), e); r.Status != patchwatch.CheckFail || !strings.Contains(r.Evidence, "HTTP without a redirect") {
		t.Errorf("plain: %+v", r)
	}
}

func TestCertificateExpiry(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	root := t.TempDir()
	// One listener on 8443 (0x20FB).
	write(t, root, map[string]string{"proc/net/tcp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4411 1 0000000000000000 100 0 0 10 0\n"})
	e := treeEnv(root, "deb")
	e.Dial = dialTo(srv.Listener.Addr().String())
	notAfter := srv.Certificate().NotAfter
	e.Now = func() time.Time { return notAfter.Add(-30 * 24 * time.Hour) }
	if r := plaintextServices(context.Background(), e); r.Status != patchwatch.CheckPass || !strings.Contains(strings.Join(r.Items, ","), "certificate valid until") {
		t.Errorf("30 days left: %+v", r)
	}
	e.Now = func() time.Time { return notAfter.Add(-13 * 24 * time.Hour) }
	if r := plaintextServices(context.Background(), e); r.Status != patchwatch.CheckFail || !strings.Contains(r.Evidence, "tcp 0.0.0.0:8443: certificate \"example.com\" expires") {
		t.Errorf("13 days left: %+v", r)
	}
}

func TestMySQLGreeting(t *testing.T) {
	// MySQL 8.0's protocol-10 greeting, with CLIENT_SSL (0x0800) in the
	// lower capability flags 0xffff, and without it (0xf7ff).
	greeting := func(caps uint16) []byte {
		body := []byte{10}
		body = append(body, "8.0.36-0ubuntu0.22.04.1\x00"...)
		body = append(body, 0x0b, 0, 0, 0)             // connection id
		body = append(body, "\x1e\x14S\x07h$6\x01"...) // salt
		body = append(body, 0, byte(caps), byte(caps>>8), 0xff, 0x02, 0x00, 0xff, 0xdf)
		return append([]byte{byte(len(body)), 0, 0, 0}, body...)
	}
	for caps, want := range map[uint16]bool{0xffff: true, 0xf7ff: false} {
		got, err := mysqlOffersTLS(strings.NewReader(string(greeting(caps))))
		if err != nil || got != want {
			t.Errorf("caps %#x: %v %v", caps, got, err)
		}
	}
}

// dialTo sends every probe to one test server, as if it listened on the
// socket's port.
func dialTo(addr string) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func TestAuthorizedKeys(t *testing.T) {
	keys := parseAuthorizedKeys("# deploy keys\nfrom=\"10.0.0.0/8\",no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5ZbVpO2ZlEGD3Y0YrP1w5k9m9cE8QbU2Xw8fwnR7cE deploy\nssh-dss AAAAB3NzaC1kc3MAAACBAP old\n\n")
	if len(keys) != 2 || keys[0].String() != "ssh-ed25519" || !keys[1].weak() {
		t.Errorf("keys = %v", keys)
	}
}

func FuzzParseAuthorizedKeys(f *testing.F) {
	f.Add("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDX user\n")
	f.Fuzz(func(t *testing.T, text string) { parseAuthorizedKeys(text) })
}

func FuzzReadUULog(f *testing.F) {
	f.Add("2026-03-09 06:18:44,502 INFO Starting unattended upgrades script\n2026-03-09 06:18:55,306 ERROR Installing the upgrades failed!\n")
	f.Fuzz(func(t *testing.T, text string) {
		root := t.TempDir()
		write(t, root, map[string]string{"log": text})
		readUULog(filepath.Join(root, "log"))
	})
}

// BenchmarkStaleLibraries reads a busy host's /proc: 300 processes of 400
// mappings each (a JVM or a desktop maps more; a server's daemons less).
func BenchmarkStaleLibraries(b *testing.B) {
	root := b.TempDir()
	var maps strings.Builder
	for i := range 400 {
		fmt.Fprintf(&maps, "7f0c%08x-7f0c%08x r-xp 00000000 fd:00 %d /usr/lib/x86_64-linux-gnu/lib%d.so.1\n", i*4096, (i+1)*4096, 8390000+i, i)
	}
	maps.WriteString("7f0cffff0000-7f0cffff1000 r-xp 00000000 fd:00 8391233 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)\n")
	files := map[string]string{}
	for pid := 1000; pid < 1300; pid++ {
		dir := fmt.Sprintf("proc/%d/", pid)
		files[dir+"comm"] = "worker\n"
		files[dir+"maps"] = maps.String()
		files[dir+"cgroup"] = fmt.Sprintf("0::/system.slice/worker%d.service\n", pid%20)
	}
	write(b, root, files)
	e := treeEnv(root, "deb")
	b.ResetTimer()
	for b.Loop() {
		if r := staleLibraries(context.Background(), e); r.Status != patchwatch.CheckFail {
			b.Fatal(r)
		}
	}
}

func FuzzLivepatchOutputs(f *testing.F) {
	for _, name := range []string{"livepatch-applied.json", "livepatch-eol.json", "pro-reboot-required-livepatched.json", "kpatch-list-loaded.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata/captures", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, out string) {
		canonicalLivepatch(out)
		proLivepatch(out)
		kpatchList(out, "5.14.0-427.13.1.el9_4.x86_64")
		fail2banJail(out)
		firewalldAcceptingZone(out)
		firewalldPorts(out)
		systemdProperties(out)
	})
}

func FuzzNFTTables(f *testing.F) {
	for _, name := range []string{"nft-inet.txt", "nft-ip-only.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata/captures", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, ruleset string) {
		for _, tb := range nftTables(ruleset) {
			nftInputDrops(tb.body)
			nftAccepted(tb.body)
		}
		iptablesAccepted(ruleset)
	})
}

func FuzzStaleMappings(f *testing.F) {
	b, err := os.ReadFile("testdata/open/proc/1340/maps")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Fuzz(func(t *testing.T, maps string) {
		root := t.TempDir()
		write(t, root, map[string]string{"maps": maps})
		e := &Env{Root: root}
		for _, name := range e.staleMappings(filepath.Join(root, "maps"), &mapsScanner{buf: make([]byte, 4096), inodes: map[string]fileID{}}) {
			if name == "" {
				t.Error("empty file name")
			}
		}
	})
}

func FuzzMySQLGreeting(f *testing.F) {
	f.Add([]byte("\x4a\x00\x00\x00\x0a8.0.36\x00\x0b\x00\x00\x00abcdefgh\x00\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) { mysqlOffersTLS(bytes.NewReader(b)) })
}

// Services that accept and never answer cost one probe timeout each, and
// the check stops probing while its time limit still leaves it a result.
func TestPlaintextProbesStayInTimeLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		header := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		// 5432, 3306, 6379, 27017, 8443 on 0.0.0.0, listening.
		var tcp strings.Builder
		tcp.WriteString(header)
		for i, port := range []int{5432, 3306, 6379, 27017, 8443} {
			fmt.Fprintf(&tcp, "   %d: 00000000:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n", i, port, 5000+i)
		}
		write(t, root, map[string]string{"proc/net/tcp": tcp.String()})
		e := treeEnv(root, "deb")
		var held []net.Conn
		e.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			held = append(held, server) // accepted, never read or answered
			return client, nil
		}
		r := runOne(context.Background(), e, Check{ID: "plaintext-services", Run: plaintextServices}, 5*time.Second)
		if r.Status != patchwatch.CheckUnknown || !strings.Contains(strings.Join(r.Items, ","), "not probed within the check's time limit") {
			t.Errorf("got %+v", r)
		}
		for _, c := range held {
			c.Close()
		}
	})
}

// Not root: other users' maps cannot be read, so the check cannot tell.
func TestStaleLibrariesUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	root := t.TempDir()
	write(t, root, map[string]string{"proc/812/comm": "sshd\n", "proc/812/maps": "5f2c3a200000-5f2c3a20c000 r--p 00000000 fd:01 1835182 /usr/sbin/sshd\n"})
	if err := os.Chmod(filepath.Join(root, "proc/812/maps"), 0); err != nil {
		t.Fatal(err)
	}
	if r := staleLibraries(context.Background(), treeEnv(root, "deb")); r.Status != patchwatch.CheckUnknown || !strings.Contains(r.Evidence, "must run as root") {
		t.Errorf("got %+v", r)
	}
}

// What the kernel has loaded wins over what ufw's configuration says: an
// IPv4-only live ruleset fails though /etc/default/ufw has IPV6 on.
func TestHostFirewallLiveOverConfig(t *testing.T) {
	e := liveEnv(t, "testdata/hardened", "deb", map[string]capture{"nft list ruleset": {file: "nft-ip-only.txt"}})
	if r := hostFirewall(context.Background(), e); r.Status != patchwatch.CheckFail || strings.Contains(r.Evidence, "ufw") {
		t.Errorf("got %s %q", r.Status, r.Evidence)
	}
}
