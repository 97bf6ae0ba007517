package matcher_test

import (
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
)

func rpmFix(release, pkg, fixed, module string) patchwatch.Fix {
	return patchwatch.Fix{Release: release, Package: pkg, Kind: patchwatch.KindBinary, FixedVersion: fixed, Module: module}
}

func rpmHost(release string, epochs bool, pkgs ...patchwatch.Package) *patchwatch.Host {
	return &patchwatch.Host{Name: "r", Release: release, Family: patchwatch.FamilyRPM, Packages: pkgs, EpochInfo: epochs, ModuleInfo: epochs, SourceInfo: epochs}
}

func rpmPkg(name, evr string) patchwatch.Package {
	return patchwatch.Package{Name: name, Version: evr, Arch: "x86_64"}
}

func TestMatchRPMStreams(t *testing.T) {
	sudo := adv("RHSA-2024:0811",
		rpmFix("rhel:9", "sudo", "0:1.9.5p2-10.el9_3", ""),
		rpmFix("rhel-eus:9.2", "sudo", "0:1.9.5p2-9.el9_2.2", ""))
	tests := []struct {
		name, release, installed string
		want                     bool
	}{
		{"main stream, old", "rhel:9", "0:1.9.5p2-9.el9_2.2", true},
		{"main stream, fixed", "rhel:9", "0:1.9.5p2-10.el9_3", false},
		// The EUS fix is older than the main one: an EUS host that has it is
		// not told to take the main stream's build.
		{"eus 9.2, eus fix installed", "rhel-eus:9.2", "0:1.9.5p2-9.el9_2.2", false},
		{"eus 9.2, old", "rhel-eus:9.2", "0:1.9.5p2-9.el9_2.1", true},
		{"eus 9.0 has no fix in this advisory", "rhel-eus:9.0", "0:1.9.5p2-7.el9_0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := matcher.NewIndex([]patchwatch.Advisory{sudo}).Match(rpmHost(tt.release, true, rpmPkg("sudo", tt.installed)))
			if (len(got) == 1) != tt.want {
				t.Fatalf("got %v", summarize(got))
			}
			if tt.want && got[0].Command != "sudo dnf upgrade --advisory=RHSA-2024:0811" {
				t.Errorf("command %q", got[0].Command)
			}
		})
	}
}

func TestMatchRPMModules(t *testing.T) {
	ix := matcher.NewIndex([]patchwatch.Advisory{
		adv("RHSA-2023:3821", rpmFix("rhel:8", "ruby", "0:2.7.8-139.module+el8.8.0+18745+f1bef313", "ruby:2.7")),
		adv("RHSA-2024:1431", rpmFix("rhel:8", "ruby", "0:3.1.4-142.module+el8.9.0+21471+7d1e4a35", "ruby:3.1")),
		adv("RHSA-2024:9999", rpmFix("rhel:8", "ruby", "0:2.5.5-1.el8", "")),
	})
	labeled := rpmPkg("ruby", "0:2.7.6-138.module+el8.7.0+15051+e2d5a5e6")
	labeled.Module = "ruby:2.7"
	got := ix.Match(rpmHost("rhel:8", true, labeled))
	if len(got) != 1 || got[0].Advisory != "RHSA-2023:3821" {
		t.Errorf("labeled ruby:2.7 host: %v", summarize(got))
	}
	// Without labels the stream is read from the version.
	got = ix.Match(rpmHost("rhel:8", false, rpmPkg("ruby", "3.1.2-141.module+el8.8.0+17996+5b5a2b8b")))
	if len(got) != 1 || got[0].Advisory != "RHSA-2024:1431" || !strings.Contains(strings.Join(got[0].Notes, " "), "module labels") {
		t.Errorf("unlabeled ruby 3.1 host: %v %v", summarize(got), got)
	}
	// A non-modular package never takes a module fix, and the reverse.
	if got := ix.Match(rpmHost("rhel:8", false, rpmPkg("ruby", "2.5.4-1.el8"))); len(got) != 1 || got[0].Advisory != "RHSA-2024:9999" {
		t.Errorf("non-modular ruby: %v", summarize(got))
	}
}

func TestMatchRPMEpochs(t *testing.T) {
	ix := matcher.NewIndex([]patchwatch.Advisory{adv("RHSA-2025:23414", rpmFix("rhel-els:6", "bind", "32:9.8.2-0.68.rc1.el6_10.17", ""))})
	// rpm -qa hides the epoch 32: the same version-release is not a finding.
	if got := ix.Match(rpmHost("rhel-els:6", false, rpmPkg("bind", "9.8.2-0.68.rc1.el6_10.17"))); len(got) != 0 {
		t.Fatalf("epoch-only false positive: %v", summarize(got))
	}
	got := ix.Match(rpmHost("rhel-els:6", false, rpmPkg("bind", "9.8.2-0.68.rc1.el6_10.16")))
	if len(got) != 1 || !strings.Contains(strings.Join(got[0].Notes, " "), "no epochs") {
		t.Fatalf("old bind: %v", got)
	}
	// With epochs known, a lower epoch is older whatever the version says.
	if got := ix.Match(rpmHost("rhel-els:6", true, rpmPkg("bind", "30:9.9.0-1.el6"))); len(got) != 1 {
		t.Errorf("lower epoch: %v", summarize(got))
	}
}

func TestMatchRPMKernel(t *testing.T) {
	ix := matcher.NewIndex([]patchwatch.Advisory{func() patchwatch.Advisory {
		a := adv("RHSA-2023:7549", rpmFix("rhel:9", "kernel-core", "0:5.14.0-362.13.1.el9_3", ""), rpmFix("rhel:9", "kernel", "0:5.14.0-362.13.1.el9_3", ""))
		a.RebootHint = true
		return a
	}()})
	old := []patchwatch.Package{rpmPkg("kernel", "0:5.14.0-362.8.1.el9_3"), rpmPkg("kernel-core", "0:5.14.0-362.8.1.el9_3")}
	newer := []patchwatch.Package{rpmPkg("kernel", "0:5.14.0-362.13.1.el9_3"), rpmPkg("kernel-core", "0:5.14.0-362.13.1.el9_3")}
	both := append(append([]patchwatch.Package{}, old...), newer...)
	tests := []struct {
		name, running string
		pkgs          []patchwatch.Package
		want          patchwatch.Status
	}{
		{"running old, fixed installed", "5.14.0-362.8.1.el9_3.x86_64", both, patchwatch.StatusPendingReboot},
		{"running new", "5.14.0-362.13.1.el9_3.x86_64", both, ""},
		{"running unknown, newest fixed", "", both, ""},
		{"only old", "5.14.0-362.8.1.el9_3.x86_64", old, patchwatch.StatusUpdate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := rpmHost("rhel:9", true, tt.pkgs...)
			h.KernelRelease = tt.running
			got := ix.Match(h)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("got %v", summarize(got))
				}
				return
			}
			if len(got) != 1 || got[0].Status != tt.want || len(got[0].Packages) != 2 {
				t.Fatalf("got %v", summarize(got))
			}
			if tt.want == patchwatch.StatusUpdate && got[0].Command != "sudo dnf upgrade --advisory=RHSA-2023:7549 && sudo reboot" {
				t.Errorf("command %q", got[0].Command)
			}
		})
	}
}

func TestMatchRebuild(t *testing.T) {
	rhsa := adv("RHSA-2024:0811", rpmFix("rhel:9", "sudo", "0:1.9.5p2-10.el9_3", ""))
	alsa := adv("ALSA-2024:0811", rpmFix("almalinux:9", "sudo", "0:1.9.5p2-10.el9_3.alma.1", ""))
	host := func() *patchwatch.Host { return rpmHost("almalinux:9", false, rpmPkg("sudo", "1.9.5p2-7.el9")) }
	// With ALSA imported the host is matched against ALSA only.
	got := matcher.NewIndex([]patchwatch.Advisory{rhsa, alsa}).Match(host())
	if len(got) != 1 || got[0].Advisory != "ALSA-2024:0811" || got[0].Command != "sudo dnf upgrade --advisory=ALSA-2024:0811" {
		t.Fatalf("with ALSA: %v", got)
	}
	// Without, against RHSA, saying so, and the command names packages
	// (dnf on AlmaLinux does not know RHSA IDs).
	got = matcher.NewIndex([]patchwatch.Advisory{rhsa}).Match(host())
	if len(got) != 1 || got[0].Advisory != "RHSA-2024:0811" || got[0].Command != "sudo dnf upgrade sudo" ||
		!strings.Contains(strings.Join(got[0].Notes, " "), "no AlmaLinux (ALSA) advisories") {
		t.Fatalf("RHSA fallback: %v", got)
	}
	// ALSA imported but none for this package: still ALSA, so no finding.
	ix := matcher.NewIndex([]patchwatch.Advisory{rhsa})
	ix.MarkRelease("almalinux:9")
	if got := ix.Match(host()); len(got) != 0 {
		t.Fatalf("marked release: %v", summarize(got))
	}
}
