package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
)

func kernelCurrent(ctx context.Context, e *Env) patchwatch.CheckResult {
	if why, ok := e.containerUnknown(ctx); ok {
		r := result(patchwatch.CheckUnknown, why)
		r.State = patchwatch.KernelInContainer
		return r
	}
	if e.KernelRelease == "" || e.NewerKernel == nil {
		return result(patchwatch.CheckUnknown, "the running kernel is not known")
	}
	if *e.NewerKernel {
		return result(patchwatch.CheckFail, "a newer kernel is installed than the running "+e.KernelRelease)
	}
	return result(patchwatch.CheckPass, "no newer kernel is installed than the running "+e.KernelRelease)
}

// livepatchStatus is `canonical-livepatch status --format json`: one
// entry per kernel, the running one marked.
type livepatchStatus struct {
	Status []struct {
		Kernel              string
		Running             bool
		Supported           string
		UpgradeRequiredDate string
		Livepatch           struct {
			CheckState, State, Version string
			Fixes                      []struct {
				Name    string
				Patched bool
			}
		}
	}
}

// proRebootRequired is `pro api u.pro.security.status.reboot_required.v1`.
type proRebootRequired struct {
	Result string
	Data   struct {
		Attributes struct {
			RebootRequired                   string `json:"reboot_required"`
			LivepatchEnabled                 bool   `json:"livepatch_enabled"`
			LivepatchEnabledAndKernelPatched bool   `json:"livepatch_enabled_and_kernel_patched"`
			LivepatchState                   string `json:"livepatch_state"`
			LivepatchSupport                 string `json:"livepatch_support"`
		}
	}
}

// livepatchSupportEnded are Livepatch's support states in which it no
// longer patches the running kernel.
var livepatchSupportEnded = map[string]string{
	"kernel-upgrade-required": "Livepatch needs a newer kernel to keep patching",
	"kernel-end-of-life":      "the running kernel's Livepatch coverage has ended",
	"unsupported":             "Livepatch does not support the running kernel",
}

// livepatch reads whether the running kernel is live-patched: Canonical
// Livepatch (its own status, else Ubuntu Pro's reboot-required API) or
// kpatch. The State it sets is what the server's reboot advice reads.
func livepatch(ctx context.Context, e *Env) patchwatch.CheckResult {
	if why, ok := e.containerUnknown(ctx); ok {
		return result(patchwatch.CheckUnknown, why)
	}
	if out, found, err := run(ctx, e, "canonical-livepatch", "status", "--format", "json"); found && err == nil {
		if r, ok := canonicalLivepatch(out); ok {
			return r
		}
	}
	if out, found, err := run(ctx, e, "pro", "api", "u.pro.security.status.reboot_required.v1"); found && err == nil {
		if r, ok := proLivepatch(out); ok {
			return r
		}
	}
	if out, found, err := run(ctx, e, "kpatch", "list"); found && err == nil {
		return kpatchList(out, e.KernelRelease)
	}
	if e.Commands == nil {
		for _, p := range []string{"snap/bin/canonical-livepatch", "usr/sbin/kpatch"} {
			if exists(e.path(p)) {
				return result(patchwatch.CheckUnknown, "/"+p+" is installed; its state is read on the live system only")
			}
		}
	}
	return result(patchwatch.CheckPass, "no live patching is in use: kernel fixes take effect at a reboot (see kernel-current)")
}

func canonicalLivepatch(out string) (patchwatch.CheckResult, bool) {
	var st livepatchStatus
	if json.Unmarshal([]byte(out), &st) != nil || len(st.Status) == 0 {
		return patchwatch.CheckResult{}, false
	}
	k := st.Status[0]
	for _, s := range st.Status {
		if s.Running {
			k = s
		}
	}
	var patched []string
	for _, f := range k.Livepatch.Fixes {
		if f.Patched && f.Name != "" {
			patched = append(patched, strings.ToUpper(f.Name))
		}
	}
	slices.Sort(patched)
	what := fmt.Sprintf("canonical-livepatch status: kernel %s, support %s, patch state %s", k.Kernel, k.Supported, k.Livepatch.State)
	if k.Livepatch.Version != "" {
		what += ", patch version " + k.Livepatch.Version
	}
	if why, ended := livepatchSupportEnded[k.Supported]; ended {
		r := result(patchwatch.CheckFail, why+" ("+what+"): reboot into a current kernel", patched...)
		r.State = patchwatch.LivepatchCoverageEnded
		return r, true
	}
	switch k.Livepatch.State {
	case "applied":
		r := result(patchwatch.CheckPass, fmt.Sprintf("%s; %d fixes applied", what, len(patched)), patched...)
		r.State = patchwatch.LivepatchApplied
		return r, true
	case "nothing-to-apply", "unapplied", "applying", "":
		// On, but nothing patched in this kernel yet.
		return result(patchwatch.CheckPass, what), true
	}
	// apply-failed, applied-with-bug, kernel-upgrade-required, ...
	r := result(patchwatch.CheckFail, "live patching failed ("+what+")", patched...)
	r.State = patchwatch.LivepatchCoverageEnded
	return r, true
}

func proLivepatch(out string) (patchwatch.CheckResult, bool) {
	var pr proRebootRequired
	if json.Unmarshal([]byte(out), &pr) != nil || pr.Result != "success" || pr.Data.Attributes.RebootRequired == "" {
		return patchwatch.CheckResult{}, false
	}
	a := pr.Data.Attributes
	what := "pro api u.pro.security.status.reboot_required.v1: reboot_required " + a.RebootRequired
	if a.LivepatchState != "" || a.LivepatchSupport != "" {
		what += fmt.Sprintf(", livepatch state %s, support %s", a.LivepatchState, a.LivepatchSupport)
	}
	if why, ended := livepatchSupportEnded[a.LivepatchSupport]; ended && a.LivepatchEnabled {
		r := result(patchwatch.CheckFail, why+" ("+what+"): reboot into a current kernel")
		r.State = patchwatch.LivepatchCoverageEnded
		return r, true
	}
	if a.RebootRequired == "yes-kernel-livepatches-applied" || a.LivepatchEnabledAndKernelPatched {
		r := result(patchwatch.CheckPass, what)
		r.State = patchwatch.LivepatchApplied
		return r, true
	}
	if !a.LivepatchEnabled {
		return result(patchwatch.CheckPass, "Livepatch is not enabled ("+what+"): kernel fixes take effect at a reboot"), true
	}
	return result(patchwatch.CheckPass, what), true
}

// kpatchList reads `kpatch list`: modules loaded in the running kernel,
// and modules installed for it that are not loaded (a patch not applied).
func kpatchList(out, kernel string) patchwatch.CheckResult {
	var loaded, notLoaded []string
	section := ""
	installed := map[string]bool{}
	for l := range strings.Lines(out) {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
		case strings.HasPrefix(t, "Loaded patch modules"):
			section = "loaded"
		case strings.HasPrefix(t, "Installed patch modules"):
			section = "installed"
		case section == "loaded":
			loaded = append(loaded, strings.Fields(t)[0])
		case section == "installed":
			// "kpatch_5_14_0_362_8_1_1_1 (5.14.0-362.8.1.el9_3.x86_64)"
			name, forKernel, _ := strings.Cut(t, " ")
			if kernel == "" || strings.Trim(forKernel, "() ") == kernel {
				installed[name] = true
			}
		}
	}
	for name := range installed {
		if !slices.Contains(loaded, name) {
			notLoaded = append(notLoaded, name)
		}
	}
	slices.Sort(notLoaded)
	switch {
	case len(notLoaded) > 0:
		r := result(patchwatch.CheckFail, "kpatch list: installed for the running kernel but not loaded: "+strings.Join(notLoaded, ", "), notLoaded...)
		r.State = patchwatch.LivepatchCoverageEnded
		return r
	case len(loaded) > 0:
		// kpatch names no CVEs: its fixes are matched as kpatch-patch
		// packages, so the server lowers no urgency for it.
		return result(patchwatch.CheckPass, "kpatch list: loaded "+strings.Join(loaded, ", "), loaded...)
	}
	return result(patchwatch.CheckPass, "kpatch list: no patch modules loaded: kernel fixes take effect at a reboot")
}
