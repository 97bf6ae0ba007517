package matcher_test

import (
	"slices"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
)

// binaryOnly is a package as dpkg -l or dpkg-query -W give it.
func binaryOnly(name, ver string) patchwatch.Package {
	return patchwatch.Package{Name: name, Version: ver, Arch: "amd64"}
}

func binaryHost(release string, pkgs ...patchwatch.Package) *patchwatch.Host {
	h := host(release, pkgs...)
	h.SourceInfo = false
	return h
}

type binaryWant struct {
	advisory, pkg, source, via, note string
	status                           patchwatch.Status
}

func TestMatchBinaryOnly(t *testing.T) {
	const noble, bookworm = "ubuntu:24.04", "debian:12"
	openexr := srcFix(noble, "openexr", "3.1.5-5.1ubuntu0.1~esm1")
	openexr.Binaries = []string{"libopenexr-3-1-30", "openexr"}
	openexr.Subscription = "Ubuntu Pro"
	usn := adv("USN-8259-1", openexr)
	glibc := adv("DSA-1-1", srcFix(bookworm, "glibc", "2.36-9+deb12u4"))
	libxml := adv("DSA-2-1", srcFix(bookworm, "libxml2", "2.9.14+dfsg-1.3~deb12u1"))
	learnt := map[string][]string{"libc6": {"glibc"}, "libxml2-utils": {"libxml2"}}
	tests := []struct {
		name       string
		advisories []patchwatch.Advisory
		learnt     map[string][]string
		host       *patchwatch.Host
		want       []binaryWant
	}{
		{
			name:       "advisory's binary list, binary's own version",
			advisories: []patchwatch.Advisory{usn},
			host:       binaryHost(noble, binaryOnly("libopenexr-3-1-30", "3.1.5-5.1build3")),
			want:       []binaryWant{{"USN-8259-1", "libopenexr-3-1-30", "openexr", matcher.ViaBinaryList, matcher.NoteBinaryList, patchwatch.StatusSubscription}},
		},
		{
			name:       "fixed binary installed",
			advisories: []patchwatch.Advisory{usn},
			host:       binaryHost(noble, binaryOnly("libopenexr-3-1-30", "3.1.5-5.1ubuntu0.1~esm1")),
		},
		{
			name:       "binary named like its source goes by name as before",
			advisories: []patchwatch.Advisory{usn},
			host:       binaryHost(noble, binaryOnly("openexr", "3.1.5-5.1build3")),
			want:       []binaryWant{{"USN-8259-1", "openexr", "", "", "", patchwatch.StatusSubscription}},
		},
		{
			name:       "a package with source fields is not matched by the binary list",
			advisories: []patchwatch.Advisory{usn},
			host:       host(noble, pkg("libopenexr-3-1-30", "3.1.5-5.1build3", "someother", "3.1.5-5.1build3")),
		},
		{
			name:       "learnt map",
			advisories: []patchwatch.Advisory{glibc},
			learnt:     learnt,
			host:       binaryHost(bookworm, binaryOnly("libc6", "2.36-9+deb12u3")),
			want:       []binaryWant{{"DSA-1-1", "libc6", "glibc", matcher.ViaBinaryMap, matcher.NoteBinaryMap, patchwatch.StatusUpdate}},
		},
		{
			name:       "no map, no match",
			advisories: []patchwatch.Advisory{glibc},
			host:       binaryHost(bookworm, binaryOnly("libc6", "2.36-9+deb12u3")),
		},
		{
			name:       "map of another release",
			advisories: []patchwatch.Advisory{glibc},
			learnt:     learnt,
			host:       binaryHost("debian:11", binaryOnly("libc6", "2.31-13+deb11u5")),
		},
		{
			// A binNMU sorts above its source version: 2.9.14+dfsg-1.3~deb12u1+b1
			// carries the fix, 2.9.14+dfsg-1.3+b1 (before it) does not.
			name:       "binNMU of the fixed version",
			advisories: []patchwatch.Advisory{libxml},
			learnt:     learnt,
			host:       binaryHost(bookworm, binaryOnly("libxml2-utils", "2.9.14+dfsg-1.3~deb12u1+b1")),
		},
		{
			name:       "binNMU of an older version",
			advisories: []patchwatch.Advisory{libxml},
			learnt:     learnt,
			host:       binaryHost(bookworm, binaryOnly("libxml2-utils", "2.9.14+dfsg-1.2+b1")),
			want:       []binaryWant{{"DSA-2-1", "libxml2-utils", "libxml2", matcher.ViaBinaryMap, matcher.NoteBinaryMap, patchwatch.StatusUpdate}},
		},
		{
			name:       "both list and map name the fix: one package, by the list",
			advisories: []patchwatch.Advisory{usn},
			learnt:     map[string][]string{"libopenexr-3-1-30": {"openexr"}},
			host:       binaryHost(noble, binaryOnly("libopenexr-3-1-30", "3.1.5-5.1build3")),
			want:       []binaryWant{{"USN-8259-1", "libopenexr-3-1-30", "openexr", matcher.ViaBinaryList, matcher.NoteBinaryList, patchwatch.StatusSubscription}},
		},
		{
			name:       "unparsable binary version is reported",
			advisories: []patchwatch.Advisory{usn},
			host:       binaryHost(noble, binaryOnly("libopenexr-3-1-30", "not a version!")),
			want:       []binaryWant{{"USN-8259-1", "libopenexr-3-1-30", "openexr", matcher.ViaBinaryList, "", patchwatch.StatusUnknownVersion}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := matcher.NewIndex(tt.advisories)
			ix.AddBinarySources(noble, tt.learnt)
			ix.AddBinarySources(bookworm, tt.learnt)
			var got []binaryWant
			for _, f := range ix.Match(tt.host) {
				for _, p := range f.Packages {
					w := binaryWant{f.Advisory, p.Name, p.Source, p.Via, "", f.Status}
					for _, n := range []string{matcher.NoteBinaryList, matcher.NoteBinaryMap} {
						if slices.Contains(f.Notes, n) {
							w.note = n
						}
					}
					if !tt.host.SourceInfo && !slices.Contains(f.Notes, matcher.NoteNoSourceInfo) {
						t.Errorf("%s: no note that the inventory lacks source names: %q", f.Advisory, f.Notes)
					}
					got = append(got, w)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMatchRPMBinaryOnly(t *testing.T) {
	const rhel9 = "rhel:9"
	a := adv("RHSA-2024:0811", rpmFix(rhel9, "sudo", "1.9.5p2-10.el9_3", ""))
	a.Source = patchwatch.SourceRHSA
	h := rpmHost(rhel9, true, rpmPkg("sudo", "1.9.5p2-9.el9"))
	h.SourceInfo = false
	got := matcher.NewIndex([]patchwatch.Advisory{a}).Match(h)
	if len(got) != 1 || got[0].Packages[0].Via != matcher.ViaBinaryList || !slices.Contains(got[0].Notes, matcher.NoteNoSourceRPM) {
		t.Fatalf("got %+v", got)
	}
}

// TestMatchBinaryOnlyKernels: the learnt map groups a binary-only host's
// kernel packages by their kernel source, so that with several kernels
// installed only the newest counts (the running kernel being unknown), as
// with a full inventory.
func TestMatchBinaryOnlyKernels(t *testing.T) {
	const focal = "ubuntu:20.04"
	a := adv("USN-6000-1", srcFix(focal, "linux-bluefield", "5.4.0-1059.65"))
	learnt := map[string][]string{
		"linux-image-5.4.0-1058-bluefield":   {"linux-signed-bluefield"},
		"linux-modules-5.4.0-1058-bluefield": {"linux-bluefield"},
		"linux-image-5.4.0-1059-bluefield":   {"linux-signed-bluefield"},
		"linux-modules-5.4.0-1059-bluefield": {"linux-bluefield"},
	}
	old := []patchwatch.Package{binaryOnly("linux-image-5.4.0-1058-bluefield", "5.4.0-1058.64"), binaryOnly("linux-modules-5.4.0-1058-bluefield", "5.4.0-1058.64")}
	fixed := []patchwatch.Package{binaryOnly("linux-image-5.4.0-1059-bluefield", "5.4.0-1059.65"), binaryOnly("linux-modules-5.4.0-1059-bluefield", "5.4.0-1059.65")}
	for _, tt := range []struct {
		name    string
		pkgs    []patchwatch.Package
		running string
		want    patchwatch.Status
	}{
		{"old kernel only", old, "", patchwatch.StatusUpdate},
		{"fixed kernel installed beside the old one", append(slices.Clone(old), fixed...), "", ""},
		{"fixed kernel installed, old one running", append(slices.Clone(old), fixed...), "5.4.0-1058-bluefield", patchwatch.StatusPendingReboot},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ix := matcher.NewIndex([]patchwatch.Advisory{a})
			ix.AddBinarySources(focal, learnt)
			h := binaryHost(focal, tt.pkgs...)
			h.KernelRelease = tt.running
			var got patchwatch.Status
			if fs := ix.Match(h); len(fs) == 1 {
				got = fs[0].Status
				for _, p := range fs[0].Packages {
					if p.Via != matcher.ViaBinaryMap || p.Source != "linux-bluefield" {
						t.Errorf("package %+v", p)
					}
				}
			} else if len(fs) > 1 {
				t.Fatalf("findings %+v", fs)
			}
			if got != tt.want {
				t.Errorf("status %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMatchRPMThroughBinaryMap: an advisory that names only the source rpm
// (python3.9) reaches a host without source rpms through the learnt map,
// also on a rebuild matched against Red Hat's advisories.
func TestMatchRPMThroughBinaryMap(t *testing.T) {
	a := adv("RHSA-2024:6163", patchwatch.Fix{Release: "rhel:9", Package: "python3.9", Kind: patchwatch.KindSource, FixedVersion: "0:3.9.18-3.el9_4.5"})
	a.Source = patchwatch.SourceRHSA
	for _, release := range []string{"rhel:9", "almalinux:9"} {
		ix := matcher.NewIndex([]patchwatch.Advisory{a})
		h := rpmHost(release, false, rpmPkg("python3-libs", "3.9.16-1.el9_2.1"), rpmPkg("python3.9-unrelated", "1-1.el9"))
		if got := ix.Match(h); len(got) != 0 {
			t.Fatalf("%s without a map: %+v", release, got)
		}
		ix.AddBinarySources(release, map[string][]string{"python3-libs": {"python3.9"}})
		got := ix.Match(h)
		if len(got) != 1 || len(got[0].Packages) != 1 || got[0].Packages[0].Via != matcher.ViaBinaryMap || got[0].Packages[0].Source != "python3.9" {
			t.Fatalf("%s: %+v", release, got)
		}
	}
}

// TestMatchBinaryOwnVersion: a listed binary with a fixed version of its
// own (bsdutils carries an epoch util-linux lacks) is compared with that
// version, not the source's, which its epoch would always outrank.
func TestMatchBinaryOwnVersion(t *testing.T) {
	const jammy = "ubuntu:22.04"
	f := srcFix(jammy, "util-linux", "2.37.2-4ubuntu3.4")
	f.Binaries = []string{"bsdutils", "libmount1"}
	f.BinaryVersions = map[string]string{"bsdutils": "1:2.37.2-4ubuntu3.4"}
	ix := matcher.NewIndex([]patchwatch.Advisory{adv("USN-7-1", f)})
	got := ix.Match(binaryHost(jammy, binaryOnly("bsdutils", "1:2.37.2-4ubuntu3"), binaryOnly("libmount1", "2.37.2-4ubuntu3")))
	if len(got) != 1 || len(got[0].Packages) != 2 {
		t.Fatalf("findings %+v", got)
	}
	for _, p := range got[0].Packages {
		want := "2.37.2-4ubuntu3.4"
		if p.Name == "bsdutils" {
			want = "1:2.37.2-4ubuntu3.4"
		}
		if p.Fixed != want || p.Via != matcher.ViaBinaryList {
			t.Errorf("%+v, want fixed %s", p, want)
		}
	}
	if got := ix.Match(binaryHost(jammy, binaryOnly("bsdutils", "1:2.37.2-4ubuntu3.4"))); len(got) != 0 {
		t.Errorf("fixed bsdutils flagged: %+v", got)
	}
}
