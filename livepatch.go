package patchwatch

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// States of the livepatch check (CheckResult.State) that change the
// reboot advice.
const (
	// LivepatchApplied: the running kernel carries live patches; the
	// check's Items name the CVEs they fix, when the tool says.
	LivepatchApplied = "live-patched"
	// LivepatchCoverageEnded: live patching is on but no longer patches
	// the running kernel (end of life, upgrade required, apply failed).
	LivepatchCoverageEnded = "coverage-ended"
	// KernelInContainer is kernel-current's state on a container: the
	// kernel is the host machine's.
	KernelInContainer = "container"
)

// Livepatch returns the livepatch check among a host's results.
func Livepatch(checks []CheckResult) (CheckResult, bool) {
	for _, c := range checks {
		if c.ID == "livepatch" {
			return c, true
		}
	}
	return CheckResult{}, false
}

// AssessFinding sets f's urgency and its reasons at now from the facts the
// finding carries and the host's live-patch state (ApplyLivepatch): the
// one assessment that evaluation and read-time refreshes share.
func (r UrgencyRules) AssessFinding(f *Finding, checks []CheckResult, now time.Time) {
	f.Urgency, f.UrgencyReasons = r.Assess(UrgencyFacts{
		Severity: f.Severity, SourceSeverity: f.SourceSeverity, CVSS: f.CVSS, KEV: f.KEV,
		RunningKernel: f.RunningKernel, FixPublished: f.Published,
	}, now)
	ApplyLivepatch(checks, f)
}

// ApplyLivepatch adjusts the urgency of a finding in the running kernel by
// the host's live-patch state: live patches that fix its CVEs (all of
// them, when the tool names them; Ubuntu Pro's reboot-required API names
// none, and says the live patches cover the pending kernel update) lower
// it one step, since the reboot can wait for a maintenance window; coverage
// that ended raises it one step, since only a reboot applies kernel fixes
// now. The reason is added to the finding's urgency reasons.
func ApplyLivepatch(checks []CheckResult, f *Finding) {
	if !f.RunningKernel {
		return
	}
	lp, ok := Livepatch(checks)
	if !ok {
		return
	}
	switch lp.State {
	case LivepatchApplied:
		if len(lp.Items) > 0 {
			for _, cve := range f.CVEs {
				if !slices.Contains(lp.Items, cve) {
					f.UrgencyReasons = append(f.UrgencyReasons, "the running kernel is live-patched, but not against "+cve)
					return
				}
			}
			if len(f.CVEs) == 0 {
				return
			}
		}
		why := "the running kernel is live-patched"
		if len(lp.Items) > 0 {
			why += " against " + strings.Join(f.CVEs, ", ")
		}
		why += ": the reboot can wait for a maintenance window"
		if f.Urgency > UrgencyLow {
			f.Urgency--
			why = fmt.Sprintf("lowered to %s: %s", f.Urgency, why)
		}
		f.UrgencyReasons = append(f.UrgencyReasons, why)
	case LivepatchCoverageEnded:
		why := "live patching no longer covers the running kernel: only a reboot into an updated kernel applies this fix"
		if f.Urgency < UrgencyCritical {
			f.Urgency++
			why = fmt.Sprintf("raised to %s: %s", f.Urgency, why)
		}
		f.UrgencyReasons = append(f.UrgencyReasons, why)
	}
}

// RebootNote says how the host's live-patch state bears on a reboot it
// needs, for the owner's message; "" when it does not.
func RebootNote(checks []CheckResult) string {
	for _, c := range checks {
		if c.ID == "kernel-current" && c.State == KernelInContainer {
			return "this is a container (" + c.Evidence + "): rebooting it restarts its services but not the kernel"
		}
	}
	lp, ok := Livepatch(checks)
	if !ok {
		return ""
	}
	switch lp.State {
	case LivepatchApplied:
		return "the running kernel is live-patched (" + lp.Evidence + "): the reboot can wait for your next maintenance window"
	case LivepatchCoverageEnded:
		return "live patching no longer covers the running kernel (" + lp.Evidence + "): reboot soon, nothing else applies kernel fixes"
	}
	return ""
}
