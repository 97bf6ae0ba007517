package patchwatch_test

import (
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
)

func TestApplyLivepatch(t *testing.T) {
	kernel := func() patchwatch.Finding {
		return patchwatch.Finding{Advisory: "USN-6000-1", Urgency: patchwatch.UrgencyHigh, RunningKernel: true, CVEs: []string{"CVE-2024-26925", "CVE-2024-36016"}}
	}
	for _, tc := range []struct {
		name    string
		check   patchwatch.CheckResult
		finding patchwatch.Finding
		want    patchwatch.Urgency
		reason  string
	}{
		{"patched against every CVE", patchwatch.CheckResult{ID: "livepatch", State: patchwatch.LivepatchApplied, Items: []string{"CVE-2024-26925", "CVE-2024-36016", "CVE-2024-1086"}}, kernel(),
			patchwatch.UrgencyMedium, "lowered to medium: the running kernel is live-patched against CVE-2024-26925, CVE-2024-36016: the reboot can wait for a maintenance window"},
		{"one CVE unpatched", patchwatch.CheckResult{ID: "livepatch", State: patchwatch.LivepatchApplied, Items: []string{"CVE-2024-26925"}}, kernel(),
			patchwatch.UrgencyHigh, "the running kernel is live-patched, but not against CVE-2024-36016"},
		{"pro names no CVEs", patchwatch.CheckResult{ID: "livepatch", State: patchwatch.LivepatchApplied}, kernel(),
			patchwatch.UrgencyMedium, "lowered to medium: the running kernel is live-patched: the reboot can wait"},
		{"coverage ended", patchwatch.CheckResult{ID: "livepatch", State: patchwatch.LivepatchCoverageEnded}, kernel(),
			patchwatch.UrgencyCritical, "raised to critical: live patching no longer covers the running kernel"},
		{"not the running kernel", patchwatch.CheckResult{ID: "livepatch", State: patchwatch.LivepatchCoverageEnded}, patchwatch.Finding{Urgency: patchwatch.UrgencyHigh},
			patchwatch.UrgencyHigh, ""},
		{"no live patching", patchwatch.CheckResult{ID: "livepatch", Status: patchwatch.CheckPass}, kernel(), patchwatch.UrgencyHigh, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.finding
			patchwatch.ApplyLivepatch([]patchwatch.CheckResult{tc.check}, &f)
			reasons := strings.Join(f.UrgencyReasons, "; ")
			if f.Urgency != tc.want || (tc.reason == "") != (reasons == "") || !strings.Contains(reasons, tc.reason) {
				t.Errorf("got %s %q", f.Urgency, reasons)
			}
		})
	}
}

func TestCheckFix(t *testing.T) {
	restart := patchwatch.CheckResult{ID: "stale-libraries", Status: patchwatch.CheckFail, Command: "sudo systemctl restart nginx.service"}
	if got := patchwatch.CheckFix(restart, patchwatch.FamilyDebian); got != restart.Command {
		t.Errorf("host's own fix: %q", got)
	}
	if got := patchwatch.CheckFix(patchwatch.CheckResult{ID: "host-firewall"}, patchwatch.FamilyRPM); !strings.Contains(got, "firewalld") {
		t.Errorf("rpm firewall fix: %q", got)
	}
	if got := patchwatch.CheckFix(patchwatch.CheckResult{ID: "kernel-current"}, patchwatch.FamilyRPM); got != "sudo reboot" {
		t.Errorf("common fix: %q", got)
	}
}

func TestRebootNote(t *testing.T) {
	container := []patchwatch.CheckResult{{ID: "kernel-current", Status: patchwatch.CheckUnknown, State: patchwatch.KernelInContainer, Evidence: "runs in a lxc container"}}
	if got := patchwatch.RebootNote(container); !strings.HasPrefix(got, "this is a container (runs in a lxc container)") {
		t.Errorf("container: %q", got)
	}
	if got := patchwatch.RebootNote([]patchwatch.CheckResult{{ID: "livepatch", Status: patchwatch.CheckPass, Evidence: "no live patching is in use"}}); got != "" {
		t.Errorf("no live patching: %q", got)
	}
}
