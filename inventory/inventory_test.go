package inventory_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
)

func read(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func find(pkgs []patchwatch.Package, name string) (patchwatch.Package, bool) {
	for _, p := range pkgs {
		if p.Name == name {
			return p, true
		}
	}
	return patchwatch.Package{}, false
}

func TestParseDpkgStatusRealHost(t *testing.T) {
	pkgs, sourceInfo, err := inventory.ParsePackages("debian12.status", read(t, "debian12.status"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 716 || !sourceInfo {
		t.Fatalf("got %d packages, sourceInfo %v; want 716, true", len(pkgs), sourceInfo)
	}
	// Every package of the status file agrees with dpkg-query's view of the same machine.
	query, _, err := inventory.ParsePackages("debian12.dpkg-query.tsv", read(t, "debian12.dpkg-query.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(query) != len(pkgs) {
		t.Fatalf("dpkg-query lists %d packages, status %d", len(query), len(pkgs))
	}
	for _, q := range query {
		p, ok := find(pkgs, q.Name)
		if !ok {
			t.Errorf("%s missing from status parse", q.Name)
			continue
		}
		if p.Version != q.Version || p.SourceName != q.SourceName || p.SourceVersion != q.SourceVersion || p.Arch != q.Arch {
			t.Errorf("%s: status %+v, dpkg-query %+v", q.Name, p, q)
		}
	}
	libc, _ := find(pkgs, "libc6")
	if libc.SourceName != "glibc" {
		t.Errorf("libc6 source = %q, want glibc", libc.SourceName)
	}
}

func TestParseSourceWithBinNMUVersion(t *testing.T) {
	status := "Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nSource: foo (1.2-3)\nVersion: 1.2-3+b1\n\n" +
		"Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0-1\n\n" +
		"Package: bar\nStatus: install ok installed\nVersion: 2.0-1\nDescription: one\n more\n"
	pkgs, _, err := inventory.ParsePackages("status", []byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("got %+v; config-files package must be skipped", pkgs)
	}
	if p := pkgs[0]; p.SourceName != "foo" || p.SourceVersion != "1.2-3" || p.Version != "1.2-3+b1" {
		t.Errorf("binNMU = %+v", p)
	}
	if p := pkgs[1]; p.SourceName != "bar" || p.SourceVersion != "2.0-1" {
		t.Errorf("no Source field = %+v", p)
	}
}

func TestParseNameVersion(t *testing.T) {
	pkgs, sourceInfo, err := inventory.ParsePackages("focal.manifest", read(t, "focal.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	if sourceInfo || len(pkgs) != 92 {
		t.Fatalf("got %d packages, sourceInfo %v", len(pkgs), sourceInfo)
	}
	default12, _, err := inventory.ParsePackages("default", read(t, "debian12.dpkg-query-default.txt"))
	if err != nil || len(default12) != 716 {
		t.Fatalf("dpkg-query default: %d, %v", len(default12), err)
	}
}

func TestParsePackagesErrors(t *testing.T) {
	tests := []struct {
		name, data, wantErr string
	}{
		{"empty", "", "no packages"},
		{"garbage", "hello world\n", "neither a dpkg status"},
		{"bad version", "Package: a\nStatus: install ok installed\nVersion: 1:\n", "pkgs:1: package a"},
		{"bad status", "Package: a\nStatus: installed\nVersion: 1\n", "pkgs:1: package a: Status"},
		{"bad field line", "Package: a\nStatus: install ok installed\nnot a field\n", "pkgs:3: not a"},
		{"bad source", "Package: a\nStatus: install ok installed\nVersion: 1\nSource: b (2\n", "pkgs:1: package a: source field"},
		{"wrong columns", "a\t1\nb\t2\t3\n", "pkgs:2: 3 tab-separated columns"},
		{"bad query version", "a\t1.0\tb\tx y\tamd64\n", "pkgs:1: package a source version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := inventory.ParsePackages("pkgs", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		file, wantRelease string
		wantErr           bool
	}{
		{"ubuntu-22.04.os-release", "ubuntu:22.04", false},
		{"ubuntu-20.04.os-release", "ubuntu:20.04", false},
		{"debian12.os-release", "debian:12", false},
		{"debian-11.os-release", "debian:11", false},
		{"rocky-9.3.os-release", "rocky:9", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			osr, err := inventory.ParseOSRelease(tt.file, read(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			release, _, err := patchwatch.ResolveRelease(osr)
			if (err != nil) != tt.wantErr || release != tt.wantRelease {
				t.Fatalf("release = %q, %v", release, err)
			}
		})
	}
	if _, err := inventory.ParseOSRelease("x", []byte("NAME=\"no id\"\n")); err == nil {
		t.Error("os-release without ID accepted")
	}
	if _, err := inventory.ParseOSRelease("x", []byte("ID=\"ubuntu\n")); err == nil || !strings.Contains(err.Error(), "x:1") {
		t.Errorf("unterminated quote: %v", err)
	}
	osr, err := inventory.ParseOSRelease("x", []byte("ID=debian\n"))
	if err != nil {
		t.Fatal(err)
	}
	osr.DebianVersion = "11.7"
	if release, _, err := patchwatch.ResolveRelease(osr); err != nil || release != "debian:11" {
		t.Errorf("debian_version fallback = %q, %v", release, err)
	}
}

func TestBuildHost(t *testing.T) {
	h, err := inventory.BuildHost(inventory.HostInput{
		Name: "web1", OSReleaseName: "os-release", OSRelease: read(t, "ubuntu-20.04.os-release"),
		PackagesName: "focal.manifest", Packages: read(t, "focal.manifest"),
		KernelRelease: "5.4.0-1058-bluefield\n", Now: time.Unix(0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.Release != "ubuntu:20.04" || h.Family != patchwatch.FamilyDebian || h.SourceInfo || h.KernelRelease != "5.4.0-1058-bluefield" {
		t.Errorf("host = %+v", h)
	}
	_, err = inventory.BuildHost(inventory.HostInput{
		Name: "x", OSReleaseName: "os-release", OSRelease: []byte("ID=plan9\n"),
		PackagesName: "p", Packages: []byte("a\t1\n"),
	})
	if err == nil || !strings.Contains(err.Error(), "os-release: unsupported distribution") {
		t.Errorf("unknown distribution: %v", err)
	}
}

func FuzzParsePackages(f *testing.F) {
	f.Add(read(f, "bionic.status")[:4000])
	f.Add([]byte("a\t1.0\tb\t1.0\tamd64\n"))
	f.Add([]byte("a\t1.0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _, err := inventory.ParsePackages("fuzz", data)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}

func FuzzParseOSRelease(f *testing.F) {
	f.Add(read(f, "ubuntu-22.04.os-release"))
	f.Fuzz(func(t *testing.T, data []byte) {
		osr, err := inventory.ParseOSRelease("fuzz", data)
		if err == nil && osr.ID == "" {
			t.Fatal("accepted an os-release without ID")
		}
	})
}
