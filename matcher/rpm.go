package matcher

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/version"
)

// Notes attached to rpm findings.
const (
	NoteNoEpochs = "the inventory has no epochs (plain rpm -qa): versions were compared as if the installed epoch were the fix's, never flagging a host on a missing epoch alone; use " +
		"rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{MODULARITYLABEL}\\n'"
	NoteNoModules = "the inventory has no module labels: a modular package was matched to the module stream its version implies"
)

// ownAdvisories names the advisory source of each rebuild's own errata.
var ownAdvisories = map[string]string{"almalinux": "AlmaLinux (ALSA)", "rocky": "Rocky Linux (RLSA)"}

// rpmReleases returns the release whose advisories apply to h, and a note
// when a rebuild falls back to Red Hat's advisories.
func (ix *Index) rpmRelease(h *patchwatch.Host) (string, string) {
	distro, _, _ := strings.Cut(h.Release, ":")
	if distro == "rhel" || strings.HasPrefix(distro, "rhel-") || ix.releases[h.Release] {
		return h.Release, ""
	}
	rhel := patchwatch.RHSARelease(h.Release)
	if own, ok := ownAdvisories[distro]; ok {
		return rhel, fmt.Sprintf("matched against Red Hat's advisories (%s): no %s advisories are imported", rhel, own)
	}
	return rhel, fmt.Sprintf("matched against Red Hat's advisories (%s), whose versions a %s host follows closely but not exactly", rhel, distro)
}

// rpmState adds what rpm matching needs to a package.
func rpmStates(h *patchwatch.Host) []pkgState {
	running := patchwatch.RPMRunningKernel(h.KernelRelease)
	type kernelVersions struct {
		newest, running *version.RPM
		newestIdx       int
	}
	kernels := map[string]*kernelVersions{}
	parsed := make([]version.RPM, len(h.Packages))
	parseErr := make([]error, len(h.Packages))
	for i, p := range h.Packages {
		parsed[i], parseErr[i] = version.ParseRPM(p.Version)
		if !patchwatch.IsRPMKernel(p.Name) || parseErr[i] != nil {
			continue
		}
		k := kernels[p.Name]
		if k == nil {
			k = &kernelVersions{}
			kernels[p.Name] = k
		}
		v := parsed[i]
		if k.newest == nil || v.Compare(*k.newest) > 0 {
			k.newest, k.newestIdx = &parsed[i], i
		}
		if running != "" && v.VersionRelease() == running {
			k.running = &parsed[i]
		}
	}
	states := make([]pkgState, 0, len(h.Packages))
	for i, p := range h.Packages {
		st := pkgState{pkg: p, srcName: p.SourceName, rpm: parsed[i], rpmErr: parseErr[i]}
		if st.srcName == "" {
			st.srcName = p.Name
		}
		if k := kernels[p.Name]; k != nil && parseErr[i] == nil {
			// Only the running kernel counts (the newest when the running
			// one is unknown or gone); a newer installed one means a reboot.
			st.kernel = true
			switch {
			case k.running != nil && parsed[i].VersionRelease() != running:
				continue
			case k.running == nil && i != k.newestIdx:
				continue
			}
			st.newestRPM = k.newest
		}
		states = append(states, st)
	}
	return states
}

// moduleMatches reports whether a fix for module stream mod (empty for
// non-modular fixes) applies to the installed package.
func moduleMatches(h *patchwatch.Host, st *pkgState, mod string) (bool, string) {
	modular := strings.Contains(st.rpm.VersionRelease(), ".module")
	if h.ModuleInfo || st.pkg.Module != "" {
		return st.pkg.Module == mod, ""
	}
	if mod == "" {
		return !modular, ""
	}
	if !modular {
		return false, ""
	}
	// Without labels, a stream is recognized by the version it ships:
	// ruby:2.7 ships ruby-2.7.x, nodejs:18 ships nodejs-18.x.
	_, stream, _ := strings.Cut(mod, ":")
	v := st.rpm.VersionRelease()
	return v == stream || strings.HasPrefix(v, stream+"."), NoteNoModules
}

func (ix *Index) matchRPM(h *patchwatch.Host) []patchwatch.Finding {
	release, releaseNote := ix.rpmRelease(h)
	states := rpmStates(h)
	byPackage := ix.fixes[release]
	c := newCollector(h)
	for i := range states {
		st := &states[i]
		lookups := [2]string{st.pkg.Name, st.srcName}
		for li, name := range lookups {
			if li == 1 && name == lookups[0] {
				break
			}
			for _, ref := range byPackage[name] {
				bySource := ref.fix.Kind == patchwatch.KindSource
				if bySource && name != st.srcName || !bySource && name != st.pkg.Name || c.seen(ref, i) {
					continue
				}
				ok, moduleNote := moduleMatches(h, st, ref.fix.Module)
				if !ok {
					continue
				}
				status, installed, note := judgeRPM(h, st, ref)
				if note == "" {
					note = moduleNote
				}
				source := ""
				if bySource && st.srcName != st.pkg.Name {
					source = st.srcName
				}
				c.add(ref, i, st, status, installed, source, note)
			}
		}
	}
	return c.findings(func(f *patchwatch.Finding) {
		if releaseNote != "" {
			f.Notes = append(f.Notes, releaseNote)
		}
		if !h.EpochInfo {
			f.Notes = append(f.Notes, NoteNoEpochs)
		}
		if !h.SourceInfo {
			f.Notes = append(f.Notes, NoteNoSourceInfo)
		}
		f.Command = dnfCommand(h, f, releaseNote == "")
	})
}

func judgeRPM(h *patchwatch.Host, st *pkgState, ref *fixRef) (patchwatch.Status, string, string) {
	raw := st.pkg.Version
	if ref.fix.FixedVersion == "" {
		return patchwatch.StatusNoFix, raw, ""
	}
	if st.rpmErr != nil {
		return patchwatch.StatusUnknownVersion, raw, fmt.Sprintf("installed version %q of %s could not be parsed (%v): exposure unknown", raw, st.pkg.Name, st.rpmErr)
	}
	if ref.fixedErr != nil {
		return patchwatch.StatusUnknownVersion, raw, fmt.Sprintf("fixed version %q of %s could not be parsed (%v): exposure unknown", ref.fix.FixedVersion, ref.fix.Package, ref.fixedErr)
	}
	installed := st.rpm
	if !installed.HasEpoch() {
		// rpm -qa hides epochs: never call a host exposed on that alone.
		installed = installed.WithEpoch(ref.fixedRPM.Epoch())
	}
	if installed.Compare(ref.fixedRPM) >= 0 {
		return "", raw, ""
	}
	if st.kernel && st.newestRPM != nil {
		newest := *st.newestRPM
		if !newest.HasEpoch() {
			newest = newest.WithEpoch(ref.fixedRPM.Epoch())
		}
		if newest.Compare(ref.fixedRPM) >= 0 {
			return patchwatch.StatusPendingReboot, raw, ""
		}
	}
	return patchwatch.StatusUpdate, raw, ""
}

// dnfCommand names the advisory when the host's own errata carry it (dnf
// knows RHSA IDs on RHEL, ALSA on AlmaLinux, RLSA on Rocky), else the packages.
func dnfCommand(h *patchwatch.Host, f *patchwatch.Finding, ownErrata bool) string {
	switch f.Status {
	case patchwatch.StatusPendingReboot:
		return "sudo reboot"
	case patchwatch.StatusNoFix, patchwatch.StatusUnknownVersion:
		return ""
	}
	var cmd string
	if ownErrata {
		cmd = "sudo dnf upgrade --advisory=" + f.Advisory
	} else {
		var names []string
		for _, p := range f.Packages {
			names = append(names, p.Name)
		}
		slices.Sort(names)
		cmd = "sudo dnf upgrade " + strings.Join(slices.Compact(names), " ")
	}
	if f.RebootHint {
		cmd += " && sudo reboot"
	}
	return cmd
}
