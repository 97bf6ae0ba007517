package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/service"
)

// kernelFinding returns web1's finding of USN-6000-1, the running
// linux-bluefield kernel's advisory.
func kernelFinding(t *testing.T, w *world) patchwatch.Finding {
	t.Helper()
	h, err := w.svc.Host(context.Background(), "web1")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := w.svc.Outstanding(context.Background(), &h)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Advisory == "USN-6000-1" {
			return f
		}
	}
	t.Fatalf("no USN-6000-1 finding: %+v", fs)
	return patchwatch.Finding{}
}

// A live-patched kernel lowers the reboot's urgency and says why; coverage
// that ended raises it; the owner's message says the same of the reboot.
func TestLivepatchRebootAdvice(t *testing.T) {
	w := newWorld(t)
	w.host("web1", "alice@example.org")
	base := kernelFinding(t, w)
	if !base.RunningKernel {
		t.Fatalf("USN-6000-1 does not affect the running kernel: %+v", base)
	}
	patched := patchwatch.CheckResult{ID: "livepatch", Status: patchwatch.CheckPass, State: patchwatch.LivepatchApplied,
		Evidence: "pro api u.pro.security.status.reboot_required.v1: reboot_required yes-kernel-livepatches-applied"}
	w.host("web1", "alice@example.org", patched)
	low := kernelFinding(t, w)
	if low.Urgency != base.Urgency-1 || !strings.Contains(strings.Join(low.UrgencyReasons, "; "), "the running kernel is live-patched: the reboot can wait for a maintenance window") {
		t.Errorf("live-patched: %s %v (was %s)", low.Urgency, low.UrgencyReasons, base.Urgency)
	}
	ended := patchwatch.CheckResult{ID: "livepatch", Status: patchwatch.CheckFail, State: patchwatch.LivepatchCoverageEnded,
		Evidence: "the running kernel's Livepatch coverage has ended"}
	w.host("web1", "alice@example.org", ended)
	high := kernelFinding(t, w)
	if high.Urgency != min(base.Urgency+1, patchwatch.UrgencyCritical) || !strings.Contains(strings.Join(high.UrgencyReasons, "; "), "live patching no longer covers the running kernel") {
		t.Errorf("coverage ended: %s %v (was %s)", high.Urgency, high.UrgencyReasons, base.Urgency)
	}
	// Live patches that name their CVEs lower only the findings they fix.
	other := patched
	other.Items = []string{"CVE-2099-0001"}
	w.host("web1", "alice@example.org", other)
	if f := kernelFinding(t, w); f.Urgency != base.Urgency || !strings.Contains(strings.Join(f.UrgencyReasons, "; "), "live-patched, but not against") {
		t.Errorf("other CVEs patched: %s %v", f.Urgency, f.UrgencyReasons)
	}

	w.host("web1", "alice@example.org", ended)
	n := w.notifier(notify.Config{})
	w.now = w.now.Add(10 * time.Minute)
	if err := n.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds := w.outbox()
	if len(ds) == 0 {
		t.Fatal("no alert")
	}
	if !strings.Contains(ds[0].Text, "REBOOT NEEDED after updating\n   reboot: live patching no longer covers the running kernel (the running kernel's Livepatch coverage has ended): reboot soon") {
		t.Errorf("alert:\n%s", ds[0].Text)
	}
	rows, err := w.svc.HostSummaries(context.Background(), service.HostFilter{})
	if err != nil || len(rows) != 1 || !strings.HasPrefix(rows[0].RebootNote, "live patching no longer covers") {
		t.Errorf("host summary: %+v %v", rows, err)
	}
}

// The restart line of stale-libraries comes in the host's commands, after
// the updates it completes.
func TestRestartLineAfterUpdates(t *testing.T) {
	w := newWorld(t)
	stale := patchwatch.CheckResult{ID: "stale-libraries", Status: patchwatch.CheckFail,
		Evidence: "/proc/*/maps: 1 services run replaced libraries: nginx.service", Items: []string{"nginx.service: pid 1340 (nginx): libssl.so.3"},
		Command: "sudo systemctl restart nginx.service"}
	w.host("web1", "alice@example.org", stale)
	n := w.notifier(notify.Config{})
	w.now = w.now.Add(10 * time.Minute)
	if err := n.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds := w.outbox()
	if len(ds) != 1 {
		t.Fatalf("deliveries: %+v", ds)
	}
	text := ds[0].Text
	run := text[strings.Index(text, "Run on web1:"):]
	run = run[:strings.Index(run, "\n\n")]
	lines := strings.Split(run, "\n")
	if len(lines) < 3 || !strings.Contains(lines[1], "apt") || lines[len(lines)-1] != "  sudo systemctl restart nginx.service" {
		t.Errorf("commands:\n%s", run)
	}
	if !strings.Contains(text, "fix: sudo systemctl restart nginx.service") {
		t.Errorf("the check's fix is not the host's restart line:\n%s", text)
	}
}

// The admin digest shows, per guideline, the share of hosts that comply,
// day by day from the digest snapshots.
func TestComplianceOverTime(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	pass := patchwatch.CheckResult{ID: "ssh-password-auth", Status: patchwatch.CheckPass, Evidence: "ok"}
	unknown := patchwatch.CheckResult{ID: "auto-updates", Status: patchwatch.CheckUnknown, Evidence: "/etc/apt/apt.conf.d is missing"}
	w.host("web1", "alice@example.org", sshFails, unknown)
	w.host("web2", "alice@example.org", pass)
	n := w.notifier(notify.Config{AdminDigest: "daily", DigestHour: 7, Admins: notify.Contact{Email: "ops@example.org"}})
	n.Step(ctx) // schedules
	n.Deliver(ctx)
	w.now = time.Date(2026, 11, 3, 7, 1, 0, 0, time.UTC)
	n.Step(ctx)
	n.Deliver(ctx)
	w.host("web1", "alice@example.org", pass, unknown)
	w.now = time.Date(2026, 11, 4, 7, 1, 0, 0, time.UTC)
	n.Step(ctx)
	var digest *patchwatch.Delivery
	for _, d := range w.outbox() {
		if d.Kind == "admin-digest" {
			digest = &d
		}
	}
	if digest == nil {
		t.Fatalf("no admin digest: %+v", w.outbox())
	}
	for _, want := range []string{"Compliance per guideline, share of reporting hosts (2026-11-03, 2026-11-04):\n", "  ssh-password-auth      50% 100%\n"} {
		if !strings.Contains(digest.Text, want) {
			t.Errorf("digest lacks %q:\n%s", want, digest.Text)
		}
	}
	// Unknown is neither compliance nor failure: no row without a verdict.
	if strings.Contains(digest.Text, "  auto-updates ") {
		t.Errorf("auto-updates has no verdict on any host:\n%s", digest.Text)
	}
	if !strings.Contains(digest.HTML, "<td align=\"right\">50%</td><td align=\"right\">100%</td>") {
		t.Errorf("HTML digest:\n%s", digest.HTML)
	}
}
