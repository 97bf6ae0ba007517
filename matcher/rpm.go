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
	// NoteNoSourceRPM: Red Hat's advisories list every binary rpm they
	// fix, so a list without source rpms loses only the source-level fixes.
	NoteNoSourceRPM = "the inventory has no source rpm names: matched through the binary rpm names the advisory lists and through the binary → source map learnt from other inventories of the release, by each binary's own version"
	NoteNoModules   = "the inventory has no module labels: a modular package was matched to the module stream its version implies"
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

// rpmKernels is what matching needs to know about an rpm host's kernels:
// several versions of each kernel package live side by side; only the
// running one counts (the newest when the running one is unknown or gone),
// and a newer installed one means a reboot.
type rpmKernels struct {
	running string
	newest  map[string]version.RPM
	// hasRunning records the kernel package names of which the running
	// version is installed.
	hasRunning map[string]bool
}

func newRPMKernels(h *patchwatch.Host) *rpmKernels {
	k := &rpmKernels{running: patchwatch.RPMRunningKernel(h.KernelRelease)}
	for _, p := range h.Packages {
		if !patchwatch.IsRPMKernel(p.Name) {
			continue
		}
		v, err := version.ParseRPM(p.Version)
		if err != nil {
			continue
		}
		if k.newest == nil {
			k.newest, k.hasRunning = map[string]version.RPM{}, map[string]bool{}
		}
		if cur, ok := k.newest[p.Name]; !ok || v.Compare(cur) > 0 {
			k.newest[p.Name] = v
		}
		if k.running != "" && v.VersionRelease() == k.running {
			k.hasRunning[p.Name] = true
		}
	}
	return k
}

// state returns the package as matching sees it, and false for kernel
// packages that do not count.
func (k *rpmKernels) state(p patchwatch.Package) (pkgState, bool) {
	st := pkgState{pkg: p, srcName: p.SourceName}
	if st.srcName == "" {
		st.srcName = p.Name
	}
	st.rpm, st.rpmErr = version.ParseRPM(p.Version)
	newest, isKernel := k.newest[p.Name]
	if !isKernel || st.rpmErr != nil {
		return st, true
	}
	st.kernel = true
	switch {
	case k.hasRunning[p.Name] && st.rpm.VersionRelease() != k.running:
		return st, false
	case !k.hasRunning[p.Name] && st.rpm.Compare(newest) != 0:
		return st, false
	}
	st.newestRPM = &newest
	return st, true
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

func (ix *Index) matchRPM(h *patchwatch.Host, ids []uint32, v *Verdicts) []patchwatch.Finding {
	release, releaseNote := ix.rpmRelease(h)
	byPackage := ix.fixes[release]
	if byPackage == nil {
		return nil
	}
	kernels := newRPMKernels(h)
	c := ix.newCollector(h)
	// The verdict of a package with source information that is not a
	// kernel is its tuple's on the release matched, given whether the
	// inventory labels modules.
	memo := v.forHost(ix.verdictKey(h))
	defer memo.done()
	for i, p := range h.Packages {
		plain := p.SourceName != "" && !patchwatch.IsRPMKernel(p.Name)
		if plain {
			if known := memo.lookup(&p, tupleID(ids, i)); known != nil {
				c.addAll(known.contributions, i, &pkgState{pkg: p})
				continue
			}
		}
		src := p.SourceName
		if src == "" {
			src = p.Name
		}
		viaBinary := ix.binaryRefs(h, release, p)
		if byPackage[p.Name] == nil && byPackage[src] == nil && viaBinary == nil {
			if plain {
				// Only kernel rpms are read whole-host, and they are not plain.
				memo.remember(&p, tupleID(ids, i), nil, false, false)
			}
			continue
		}
		state, ok := kernels.state(p)
		if !ok {
			continue
		}
		st := &state
		verdict := rpmContributions(h, byPackage, st)
		if plain {
			memo.remember(&p, tupleID(ids, i), verdict, false, false)
		}
		c.addAll(verdict, i, st)
		c.matchBinariesRPM(h, viaBinary, i, st)
	}
	return c.findings(func(f *patchwatch.Finding) {
		if releaseNote != "" {
			f.Notes = append(f.Notes, releaseNote)
		}
		if !h.EpochInfo {
			f.Notes = append(f.Notes, NoteNoEpochs)
		}
		if !h.SourceInfo {
			f.Notes = append(f.Notes, NoteNoSourceRPM)
		}
		f.Command = dnfCommand(h, f, releaseNote == "")
	})
}

// rpmContributions judges one installed package of an rpm host against
// the fixes naming its binary or source rpm name.
func rpmContributions(h *patchwatch.Host, byPackage map[string][]*fixRef, st *pkgState) []contribution {
	var out []contribution
	lookups := [2]string{st.pkg.Name, st.srcName}
	for li, name := range lookups {
		if li == 1 && name == lookups[0] {
			break
		}
		for _, ref := range byPackage[name] {
			bySource := ref.fix.Kind == patchwatch.KindSource
			if bySource && name != st.srcName || !bySource && name != st.pkg.Name || contributed(out, ref) {
				continue
			}
			ok, moduleNote := moduleMatches(h, st, ref.fix.Module)
			if !ok {
				continue
			}
			status, installed, note := judgeRPM(h, st, ref)
			if status == "" {
				continue
			}
			if note == "" {
				note = moduleNote
			}
			source := ""
			if bySource && st.srcName != st.pkg.Name {
				source = st.srcName
			}
			ct := contribution{ref: ref, status: status, installed: installed, source: source, note: note}
			if !bySource && st.pkg.SourceName == "" {
				ct.via = ViaBinaryList // CSAF lists each binary rpm
			}
			out = append(out, ct)
		}
	}
	return out
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
