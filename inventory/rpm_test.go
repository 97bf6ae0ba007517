package inventory_test

import (
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
)

func TestParseRPMLists(t *testing.T) {
	tests := []struct {
		file                string
		count               int
		epochs, sources     bool
		name, version, arch string
	}{
		{"alma-9.0-base.rpm-packages", 151, false, false, "acl", "2.3.1-3.el9", ""},
		{"rocky-9.0-base.packages.txt", 157, false, false, "audit-libs", "3.0.7-101.el9_0.2", "x86_64"},
		{"rocky-9.6-base.kiwi.packages", 145, true, false, "attr", "0:2.5.1-3.el9", "x86_64"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			list, err := inventory.ParseRPMPackages(tt.file, read(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Packages) != tt.count || list.EpochInfo != tt.epochs || list.SourceInfo != tt.sources {
				t.Errorf("%d packages, epochs %v, sources %v", len(list.Packages), list.EpochInfo, list.SourceInfo)
			}
			p, ok := find(list.Packages, tt.name)
			if !ok || p.Version != tt.version || p.Arch != tt.arch {
				t.Errorf("%s = %+v", tt.name, p)
			}
		})
	}
}

func TestParseRPMQuery(t *testing.T) {
	data := "openssl-libs\t1\t3.0.7\t27.el9\tx86_64\topenssl-3.0.7-27.el9.src.rpm\t(none)\n" +
		"ruby\t0\t2.7.8\t139.module+el8.8.0+18745+f1bef313\tx86_64\truby-2.7.8-139.module+el8.8.0+18745+f1bef313.src.rpm\truby:2.7:8080020230427102918:63b34585\n" +
		"gpg-pubkey\t0\tfd431d51\t4ae0493b\t(none)\t(none)\t(none)\n" +
		"kernel-core\t0\t5.14.0\t362.8.1.el9_3\tx86_64\tkernel-5.14.0-362.8.1.el9_3.src.rpm\t(none)\n"
	list, err := inventory.ParseRPMPackages("q", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Packages) != 3 || !list.EpochInfo || !list.SourceInfo || !list.ModuleInfo {
		t.Fatalf("list = %+v", list)
	}
	want := []patchwatch.Package{
		{Name: "openssl-libs", Version: "1:3.0.7-27.el9", Arch: "x86_64", SourceName: "openssl", SourceVersion: "1:3.0.7-27.el9"},
		{Name: "ruby", Version: "0:2.7.8-139.module+el8.8.0+18745+f1bef313", Arch: "x86_64", SourceName: "ruby", SourceVersion: "0:2.7.8-139.module+el8.8.0+18745+f1bef313", Module: "ruby:2.7"},
		{Name: "kernel-core", Version: "0:5.14.0-362.8.1.el9_3", Arch: "x86_64", SourceName: "kernel", SourceVersion: "0:5.14.0-362.8.1.el9_3"},
	}
	for i, w := range want {
		if list.Packages[i] != w {
			t.Errorf("package %d = %+v\nwant %+v", i, list.Packages[i], w)
		}
	}
}

func TestParseRPMErrors(t *testing.T) {
	tests := map[string]string{
		"bad nevra":       "justaname\n",
		"bad epoch":       "a\tx\t1\t1\tx86_64\ta-1-1.src.rpm\t(none)\n",
		"bad source rpm":  "a\t0\t1\t1\tx86_64\ta-1-1.rpm\t(none)\n",
		"space":           "a b c\n",
		"columns changed": "a\t0\t1\t1\tx86_64\ta-1-1.src.rpm\t(none)\nb\t0\t1\n",
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := inventory.ParseRPMPackages("pkgs", []byte(data))
			if err == nil || !strings.Contains(err.Error(), "pkgs:") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestBuildRPMHost(t *testing.T) {
	h, err := inventory.BuildHost(inventory.HostInput{Name: "r", OSReleaseName: "os", OSRelease: read(t, "rhel-9.4-trivy.os-release"),
		PackagesName: "p", Packages: read(t, "rocky-9.0-base.packages.txt"), Stream: "eus"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Release != "rhel-eus:9.4" || h.Family != patchwatch.FamilyRPM || h.EpochInfo {
		t.Errorf("host = %s %s epochs %v", h.Release, h.Family, h.EpochInfo)
	}
	if _, err := inventory.BuildHost(inventory.HostInput{Name: "a", OSReleaseName: "os", OSRelease: read(t, "almalinux-9.4.os-release"),
		PackagesName: "p", Packages: read(t, "alma-9.0-base.rpm-packages"), Stream: "eus"}); err == nil {
		t.Error("EUS stream accepted for AlmaLinux")
	}
}

func FuzzParseRPMPackages(f *testing.F) {
	f.Add(read(f, "rocky-9.0-base.packages.txt")[:2000])
	f.Add([]byte("ruby\t0\t2.7.8\t139.module+el8\tx86_64\truby-2.7.8-139.src.rpm\truby:2.7:1:2\n"))
	f.Add([]byte("attr|(none)|2.5.1|3.el9|x86_64|(none)|GPLv2+\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := inventory.ParseRPMPackages("fuzz", data)
		if err != nil {
			return
		}
		for _, p := range list.Packages {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("bad package %+v", p)
			}
		}
	})
}
