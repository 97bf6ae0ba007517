package inventory_test

import (
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
)

// The SBOM samples follow the documents syft and trivy write for an
// ubuntu:22.04 image (no verbatim copy is stored): syft names the source in
// the purl's upstream qualifier, only when it differs; trivy in properties.
const (
	syftCycloneDX = `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"container","name":"ubuntu:22.04"}},
"components":[
 {"type":"library","name":"libc6","version":"2.35-0ubuntu3.1","purl":"pkg:deb/ubuntu/libc6@2.35-0ubuntu3.1?arch=amd64&upstream=glibc&distro=ubuntu-22.04"},
 {"type":"library","name":"bash","version":"5.1-6ubuntu1","purl":"pkg:deb/ubuntu/bash@5.1-6ubuntu1?arch=amd64&distro=ubuntu-22.04"},
 {"type":"library","name":"libgcc-s1","version":"12-20220319-1ubuntu1","purl":"pkg:deb/ubuntu/libgcc-s1@12-20220319-1ubuntu1?arch=amd64&upstream=gcc-12%4012-20220319-1ubuntu1&distro=ubuntu-22.04"},
 {"type":"library","name":"zlib1g","version":"1:1.2.11.dfsg-2ubuntu9","purl":"pkg:deb/ubuntu/zlib1g@1%3A1.2.11.dfsg-2ubuntu9?arch=amd64&upstream=zlib&distro=ubuntu-22.04"},
 {"type":"library","name":"requests","version":"2.25.1","purl":"pkg:pypi/requests@2.25.1"},
 {"type":"operating-system","name":"ubuntu","version":"22.04"}
]}`
	trivyCycloneDX = `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
 {"type":"operating-system","name":"ubuntu","version":"22.04"},
 {"type":"library","name":"zlib1g","version":"1:1.2.11.dfsg-2ubuntu9","purl":"pkg:deb/ubuntu/zlib1g@1.2.11.dfsg-2ubuntu9?arch=amd64&distro=ubuntu-22.04&epoch=1",
  "properties":[{"name":"aquasecurity:trivy:SrcName","value":"zlib"},{"name":"aquasecurity:trivy:SrcVersion","value":"1.2.11.dfsg-2ubuntu9"},{"name":"aquasecurity:trivy:SrcEpoch","value":"1"}]}
]}`
	trivySPDX = `{"spdxVersion":"SPDX-2.3","packages":[
 {"name":"libc6","versionInfo":"2.35-0ubuntu3.1","sourceInfo":"built package from: glibc 2.35-0ubuntu3.1",
  "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/ubuntu/libc6@2.35-0ubuntu3.1?arch=amd64&distro=ubuntu-22.04"}]}
]}`
	syftRPM = `{"bomFormat":"CycloneDX","components":[
 {"type":"library","name":"openssl-libs","purl":"pkg:rpm/redhat/openssl-libs@3.0.7-25.el9_3?arch=x86_64&epoch=1&upstream=openssl-3.0.7-25.el9_3.src.rpm&distro=rhel-9.3"},
 {"type":"library","name":"bash","purl":"pkg:rpm/redhat/bash@5.1.8-6.el9_1?arch=x86_64&upstream=bash-5.1.8-6.el9_1.src.rpm&distro=rhel-9.3"}
]}`
)

func TestParseSBOM(t *testing.T) {
	tests := []struct {
		name, doc  string
		format     inventory.PackagesFormat
		family     patchwatch.Family
		os         patchwatch.OSRelease
		sourceInfo bool
		want       []patchwatch.Package
	}{
		{"syft CycloneDX", syftCycloneDX, inventory.FormatCycloneDX, patchwatch.FamilyDebian, patchwatch.OSRelease{ID: "ubuntu", VersionID: "22.04"}, true, []patchwatch.Package{
			{Name: "libc6", Version: "2.35-0ubuntu3.1", Arch: "amd64", SourceName: "glibc", SourceVersion: "2.35-0ubuntu3.1"},
			{Name: "bash", Version: "5.1-6ubuntu1", Arch: "amd64", SourceName: "bash", SourceVersion: "5.1-6ubuntu1"},
			{Name: "libgcc-s1", Version: "12-20220319-1ubuntu1", Arch: "amd64", SourceName: "gcc-12", SourceVersion: "12-20220319-1ubuntu1"},
			{Name: "zlib1g", Version: "1:1.2.11.dfsg-2ubuntu9", Arch: "amd64", SourceName: "zlib", SourceVersion: "1:1.2.11.dfsg-2ubuntu9"},
		}},
		{"trivy CycloneDX", trivyCycloneDX, inventory.FormatCycloneDX, patchwatch.FamilyDebian, patchwatch.OSRelease{ID: "ubuntu", VersionID: "22.04"}, true, []patchwatch.Package{
			{Name: "zlib1g", Version: "1:1.2.11.dfsg-2ubuntu9", Arch: "amd64", SourceName: "zlib", SourceVersion: "1:1.2.11.dfsg-2ubuntu9"},
		}},
		{"trivy SPDX", trivySPDX, inventory.FormatSPDX, patchwatch.FamilyDebian, patchwatch.OSRelease{ID: "ubuntu", VersionID: "22.04"}, true, []patchwatch.Package{
			{Name: "libc6", Version: "2.35-0ubuntu3.1", Arch: "amd64", SourceName: "glibc", SourceVersion: "2.35-0ubuntu3.1"},
		}},
		{"no source anywhere", strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(syftCycloneDX, "&upstream=glibc", ""), "&upstream=gcc-12%4012-20220319-1ubuntu1", ""), "&upstream=zlib", ""),
			inventory.FormatCycloneDX, patchwatch.FamilyDebian, patchwatch.OSRelease{ID: "ubuntu", VersionID: "22.04"}, false, []patchwatch.Package{
				{Name: "libc6", Version: "2.35-0ubuntu3.1", Arch: "amd64"},
				{Name: "bash", Version: "5.1-6ubuntu1", Arch: "amd64"},
				{Name: "libgcc-s1", Version: "12-20220319-1ubuntu1", Arch: "amd64"},
				{Name: "zlib1g", Version: "1:1.2.11.dfsg-2ubuntu9", Arch: "amd64"},
			}},
		{"syft rpm", syftRPM, inventory.FormatCycloneDX, patchwatch.FamilyRPM, patchwatch.OSRelease{ID: "rhel", VersionID: "9.3"}, true, []patchwatch.Package{
			{Name: "openssl-libs", Version: "1:3.0.7-25.el9_3", Arch: "x86_64", SourceName: "openssl", SourceVersion: "1:3.0.7-25.el9_3"},
			{Name: "bash", Version: "0:5.1.8-6.el9_1", Arch: "x86_64", SourceName: "bash", SourceVersion: "0:5.1.8-6.el9_1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := inventory.ParseSBOM("sbom.json", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if sb.Format != tt.format || sb.Family != tt.family || sb.OS != tt.os || sb.SourceInfo != tt.sourceInfo {
				t.Errorf("format %s family %s os %+v source %v", sb.Format, sb.Family, sb.OS, sb.SourceInfo)
			}
			if len(sb.Packages) != len(tt.want) {
				t.Fatalf("packages %+v", sb.Packages)
			}
			for i, p := range sb.Packages {
				if p != tt.want[i] {
					t.Errorf("package %d = %+v, want %+v", i, p, tt.want[i])
				}
			}
		})
	}
	for _, bad := range []string{
		`{"bomFormat":"CycloneDX","components":[{"purl":"pkg:npm/left-pad@1.0.0"}]}`,
		`{"bomFormat":"CycloneDX","components":[{"purl":"pkg:deb/ubuntu/a@1.0"},{"purl":"pkg:rpm/redhat/b@1-1"}]}`,
		`{"bomFormat":"CycloneDX","components":[{"purl":"pkg:deb/ubuntu/a@:bad"}]}`,
		`{"bomFormat":"CycloneDX","components":[`,
	} {
		if _, err := inventory.ParseSBOM("bad.json", []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "bad.json: ") {
			t.Errorf("%s: error %v", bad, err)
		}
	}
}

// TestBuildHostFromSBOM: an SBOM names its distribution, so the os-release
// may be left out.
func TestBuildHostFromSBOM(t *testing.T) {
	h, err := inventory.BuildHost(inventory.HostInput{Name: "img", PackagesName: "sbom.json", Packages: []byte(syftCycloneDX), Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if h.Release != "ubuntu:22.04" || !h.SourceInfo || len(h.Packages) != 4 {
		t.Errorf("host %+v", h)
	}
	_, err = inventory.BuildHost(inventory.HostInput{Name: "img", OSReleaseName: "os-release", OSRelease: read(t, "rocky-9.3.os-release"),
		PackagesName: "sbom.json", Packages: []byte(syftCycloneDX)})
	if err == nil || !strings.Contains(err.Error(), "deb packages on a rocky host") {
		t.Errorf("deb SBOM on an rpm host: %v", err)
	}
}

func TestParseRPMManifest(t *testing.T) {
	list, err := inventory.ParseRPMPackages("nodejs", read(t, "rhel-9-nodejs.rpm-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Packages) != 301 || !list.EpochInfo || !list.SourceInfo || !list.ModuleInfo {
		t.Fatalf("%d packages, epochs %v sources %v modules %v", len(list.Packages), list.EpochInfo, list.SourceInfo, list.ModuleInfo)
	}
	npm, _ := find(list.Packages, "npm")
	if npm.Version != "1:9.5.0-1.18.14.2.3.module+el9.2.0.z+18964+42696395" || npm.Module != "nodejs:18" || npm.SourceName != "nodejs" {
		t.Errorf("npm = %+v", npm)
	}
	acl, _ := find(list.Packages, "acl")
	if acl.Version != "0:2.3.1-3.el9" || acl.SourceVersion != "0:2.3.1-3.el9" || acl.Module != "" {
		t.Errorf("acl = %+v", acl)
	}
	old, err := inventory.ParseRPMPackages("bdb", read(t, "rhel-8.0-bdb.rpm-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if dbus, _ := find(old.Packages, "dbus-common"); len(old.Packages) != 174 || dbus.Version != "1:1.12.8-7.el8" || dbus.Arch != "noarch" {
		t.Errorf("%d packages, dbus-common = %+v", len(old.Packages), dbus)
	}
}

func FuzzParseSBOM(f *testing.F) {
	for _, doc := range []string{syftCycloneDX, trivyCycloneDX, trivySPDX, syftRPM} {
		f.Add([]byte(doc))
	}
	f.Add(read(f, "rhel-8.0-bdb.rpm-manifest.json")[:2000])
	f.Fuzz(func(t *testing.T, data []byte) {
		if sb, err := inventory.ParseSBOM("fuzz", data); err == nil {
			for _, p := range sb.Packages {
				if p.Name == "" || p.Version == "" {
					t.Fatalf("package without name or version: %+v", p)
				}
			}
		}
		if list, err := inventory.ParseRPMPackages("fuzz", data); err == nil {
			for _, p := range list.Packages {
				if p.Name == "" || p.Version == "" {
					t.Fatalf("rpm without name or version: %+v", p)
				}
			}
		}
	})
}
