package matcher_test

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/version"
)

func adv(id string, fixes ...patchwatch.Fix) patchwatch.Advisory {
	return patchwatch.Advisory{ID: id, Source: patchwatch.SourceUSN, Title: id, Published: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Fixes: fixes}
}

func srcFix(release, pkg, fixed string) patchwatch.Fix {
	return patchwatch.Fix{Release: release, Package: pkg, Kind: patchwatch.KindSource, FixedVersion: fixed}
}

func pkg(name, ver, src, srcVer string) patchwatch.Package {
	return patchwatch.Package{Name: name, Version: ver, SourceName: src, SourceVersion: srcVer, Arch: "amd64"}
}

func host(release string, pkgs ...patchwatch.Package) *patchwatch.Host {
	return &patchwatch.Host{Name: "h", Release: release, Family: patchwatch.FamilyDebian, Packages: pkgs, SourceInfo: true}
}

type want struct {
	advisory string
	status   patchwatch.Status
	packages []string
}

func summarize(fs []patchwatch.Finding) []want {
	var out []want
	for _, f := range fs {
		w := want{advisory: f.Advisory, status: f.Status}
		for _, p := range f.Packages {
			w.packages = append(w.packages, p.Name)
		}
		out = append(out, w)
	}
	return out
}

func TestMatch(t *testing.T) {
	const jammy = "ubuntu:22.04"
	openssl := adv("USN-1-1", srcFix(jammy, "openssl", "3.0.2-0ubuntu1.10"))
	tests := []struct {
		name       string
		advisories []patchwatch.Advisory
		host       *patchwatch.Host
		want       []want
	}{
		{
			name:       "binaries matched through their source",
			advisories: []patchwatch.Advisory{openssl},
			host:       host(jammy, pkg("libssl3", "3.0.2-0ubuntu1.9", "openssl", "3.0.2-0ubuntu1.9"), pkg("openssl", "3.0.2-0ubuntu1.9", "openssl", "3.0.2-0ubuntu1.9")),
			want:       []want{{"USN-1-1", patchwatch.StatusUpdate, []string{"libssl3", "openssl"}}},
		},
		{
			name:       "fixed version installed",
			advisories: []patchwatch.Advisory{openssl},
			host:       host(jammy, pkg("libssl3", "3.0.2-0ubuntu1.10", "openssl", "3.0.2-0ubuntu1.10")),
		},
		{
			name:       "newer than fixed",
			advisories: []patchwatch.Advisory{openssl},
			host:       host(jammy, pkg("libssl3", "3.0.2-0ubuntu1.15", "openssl", "3.0.2-0ubuntu1.15")),
		},
		{
			name:       "other release",
			advisories: []patchwatch.Advisory{openssl},
			host:       host("ubuntu:24.04", pkg("libssl3", "3.0.2-0ubuntu1.9", "openssl", "3.0.2-0ubuntu1.9")),
		},
		{
			name:       "partial upgrade: only the old binary",
			advisories: []patchwatch.Advisory{openssl},
			host:       host(jammy, pkg("libssl3", "3.0.2-0ubuntu1.9", "openssl", "3.0.2-0ubuntu1.9"), pkg("openssl", "3.0.2-0ubuntu1.10", "openssl", "3.0.2-0ubuntu1.10")),
			want:       []want{{"USN-1-1", patchwatch.StatusUpdate, []string{"libssl3"}}},
		},
		{
			name:       "binNMU compares the source version",
			advisories: []patchwatch.Advisory{adv("DSA-1-1", srcFix("debian:12", "glibc", "2.36-9+deb12u4"))},
			host:       host("debian:12", pkg("libc6", "2.36-9+deb12u4+b1", "glibc", "2.36-9+deb12u4")),
		},
		{
			name:       "subscription fix",
			advisories: []patchwatch.Advisory{adv("USN-8259-1", patchwatch.Fix{Release: jammy, Package: "openexr", Kind: patchwatch.KindSource, FixedVersion: "2.5.7-1ubuntu0.1~esm2", Subscription: "Ubuntu Pro"})},
			host:       host(jammy, pkg("libopenexr25", "2.5.7-1", "openexr", "2.5.7-1")),
			want:       []want{{"USN-8259-1", patchwatch.StatusSubscription, []string{"libopenexr25"}}},
		},
		{
			name:       "binary fix by binary version",
			advisories: []patchwatch.Advisory{adv("USN-9-1", patchwatch.Fix{Release: jammy, Package: "libfoo1", Kind: patchwatch.KindBinary, FixedVersion: "1.1"})},
			host:       host(jammy, pkg("libfoo1", "1.0", "foo", "7.0")),
			want:       []want{{"USN-9-1", patchwatch.StatusUpdate, []string{"libfoo1"}}},
		},
		{
			name:       "unparsable installed version is reported",
			advisories: []patchwatch.Advisory{openssl},
			host:       host(jammy, pkg("libssl3", "3.0:bad", "openssl", "3.0:bad")),
			want:       []want{{"USN-1-1", patchwatch.StatusUnknownVersion, []string{"libssl3"}}},
		},
		{
			name:       "no fix yet",
			advisories: []patchwatch.Advisory{adv("DSA-2-1", srcFix("debian:12", "foo", ""))},
			host:       host("debian:12", pkg("foo", "1.0-1", "foo", "1.0-1")),
			want:       []want{{"DSA-2-1", patchwatch.StatusNoFix, []string{"foo"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(matcher.NewIndex(tt.advisories).Match(tt.host))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestMatchWithoutSourceInfo(t *testing.T) {
	ix := matcher.NewIndex([]patchwatch.Advisory{
		adv("USN-1-1", srcFix("ubuntu:22.04", "openssl", "3.0.2-0ubuntu1.10")),
		adv("USN-2-1", srcFix("ubuntu:22.04", "tar", "1.34+dfsg-1ubuntu0.1.22.04.2")),
	})
	h := host("ubuntu:22.04",
		patchwatch.Package{Name: "libssl3", Version: "3.0.2-0ubuntu1.9"},
		patchwatch.Package{Name: "tar", Version: "1.34+dfsg-1build3"})
	h.SourceInfo = false
	got := ix.Match(h)
	if len(got) != 1 || got[0].Advisory != "USN-2-1" {
		t.Fatalf("got %v", summarize(got))
	}
	if !slices.Contains(got[0].Notes, matcher.NoteNoSourceInfo) {
		t.Errorf("notes = %v", got[0].Notes)
	}
	if got[0].Command != "sudo apt-get install --only-upgrade tar" {
		t.Errorf("command = %q", got[0].Command)
	}
}

func TestMatchKernel(t *testing.T) {
	const focal = "ubuntu:20.04"
	kernelUSN := adv("USN-6000-1", srcFix(focal, "linux-bluefield", "5.4.0-1059.65"))
	kernelUSN.RebootHint = true
	oldABI := []patchwatch.Package{
		pkg("linux-modules-5.4.0-1058-bluefield", "5.4.0-1058.64", "linux-bluefield", "5.4.0-1058.64"),
		pkg("linux-image-5.4.0-1058-bluefield", "5.4.0-1058.64", "linux-signed-bluefield", "5.4.0-1058.64"),
	}
	newABI := []patchwatch.Package{
		pkg("linux-modules-5.4.0-1059-bluefield", "5.4.0-1059.65", "linux-bluefield", "5.4.0-1059.65"),
		pkg("linux-image-5.4.0-1059-bluefield", "5.4.0-1059.65", "linux-signed-bluefield", "5.4.0-1059.65"),
	}
	meta := pkg("linux-image-bluefield", "5.4.0.1058.53", "linux-meta-bluefield", "5.4.0.1058.53")
	tests := []struct {
		name    string
		running string
		pkgs    []patchwatch.Package
		want    patchwatch.Status // "" for no finding
		command string
	}{
		{"old only, running old", "5.4.0-1058-bluefield", append(slices.Clone(oldABI), meta), patchwatch.StatusUpdate, "sudo apt-get install --only-upgrade linux-image-bluefield && sudo reboot"},
		{"both installed, running old", "5.4.0-1058-bluefield", append(slices.Clone(oldABI), newABI...), patchwatch.StatusPendingReboot, "sudo reboot"},
		{"both installed, running new", "5.4.0-1059-bluefield", append(slices.Clone(oldABI), newABI...), "", ""},
		{"both installed, running unknown", "", append(slices.Clone(oldABI), newABI...), "", ""},
		{"old only, running unknown", "", oldABI, patchwatch.StatusUpdate, "sudo apt-get update && sudo apt-get dist-upgrade && sudo reboot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := host(focal, tt.pkgs...)
			h.KernelRelease = tt.running
			got := matcher.NewIndex([]patchwatch.Advisory{kernelUSN}).Match(h)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("got %v, want none", summarize(got))
				}
				return
			}
			if len(got) != 1 || got[0].Status != tt.want {
				t.Fatalf("got %v, want %s", summarize(got), tt.want)
			}
			if got[0].Command != tt.command {
				t.Errorf("command = %q, want %q", got[0].Command, tt.command)
			}
			for _, p := range got[0].Packages {
				if strings.Contains(p.Name, "1059") {
					t.Errorf("the fixed kernel %s is listed", p.Name)
				}
			}
		})
	}
}

func TestMatchDebianKernelByUnameV(t *testing.T) {
	dsa := adv("DSA-5518-1", srcFix("debian:12", "linux", "6.1.64-1"))
	h := host("debian:12",
		pkg("linux-image-6.1.0-13-amd64", "6.1.64-1", "linux-signed-amd64", "6.1.64+1"),
		pkg("linux-image-amd64", "6.1.64-1", "linux-signed-amd64", "6.1.64+1"))
	h.KernelRelease = "6.1.0-13-amd64"
	h.KernelVersion = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)"
	got := matcher.NewIndex([]patchwatch.Advisory{dsa}).Match(h)
	if len(got) != 1 || got[0].Status != patchwatch.StatusPendingReboot {
		t.Fatalf("got %v, want pending-reboot", summarize(got))
	}
	h.KernelVersion = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.64-1 (2023-11-29)"
	if got := matcher.NewIndex([]patchwatch.Advisory{dsa}).Match(h); len(got) != 0 {
		t.Fatalf("rebooted host still has %v", summarize(got))
	}
	h.Packages[0].Version, h.Packages[1].Version = "6.1.55-1", "6.1.55-1"
	h.KernelVersion = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)"
	if got := matcher.NewIndex([]patchwatch.Advisory{dsa}).Match(h); len(got) != 1 || got[0].Status != patchwatch.StatusUpdate {
		t.Fatalf("unpatched host: %v", summarize(got))
	}
}

// loadHost reads the real Debian 12 inventory of inventory/testdata.
func loadHost(tb testing.TB) *patchwatch.Host {
	tb.Helper()
	f, err := os.Open("../inventory/testdata/debian12.dpkg-query.tsv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := host("debian:12")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		h.Packages = append(h.Packages, pkg(c[0], c[1], c[2], c[3]))
	}
	return h
}

// TestMatchAgreesWithBruteForce builds advisories from the real host's own
// source versions, each nudged older or newer, and checks the indexed
// matcher against a direct computation with dpkg ordering.
func TestMatchAgreesWithBruteForce(t *testing.T) {
	h := loadHost(t)
	nudges := []string{"~1", "", "+deb12u99", "-0.1", "~bpo12+1"}
	var advisories []patchwatch.Advisory
	sources := map[string]string{}
	for _, p := range h.Packages {
		if patchwatch.KernelABI(p.Name, p.SourceName) == "" {
			sources[p.SourceName] = p.SourceVersion
		}
	}
	i := 0
	for src, v := range sources {
		fixed := v + nudges[i%len(nudges)]
		if _, err := version.ParseDeb(fixed); err != nil {
			fixed = v
		}
		advisories = append(advisories, adv(fmt.Sprintf("DSA-%d-1", i), srcFix("debian:12", src, fixed)))
		i++
	}
	want := map[string]bool{}
	for _, a := range advisories {
		f := a.Fixes[0]
		for _, p := range h.Packages {
			if p.SourceName != f.Package || patchwatch.KernelABI(p.Name, p.SourceName) != "" {
				continue
			}
			if c, err := version.CompareDeb(p.SourceVersion, f.FixedVersion); err == nil && c < 0 {
				want[a.ID] = true
			}
		}
	}
	got := map[string]bool{}
	for _, f := range matcher.NewIndex(advisories).Match(h) {
		got[f.Advisory] = true
	}
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("matcher found %d advisories, brute force %d", len(got), len(want))
	}
}
