package inventory_test

import (
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/inventory"
)

// TestParseDpkgListRealHost reads the real dpkg -l of the Debian 12 build
// machine and finds exactly what dpkg-query says of the same machine, less
// the source fields.
func TestParseDpkgListRealHost(t *testing.T) {
	data := read(t, "debian12.dpkg-l.txt")
	if f, err := inventory.DetectPackagesFormat(data); err != nil || f != inventory.FormatDpkgList {
		t.Fatalf("detected %q, %v", f, err)
	}
	pkgs, sourceInfo, err := inventory.ParsePackages("debian12.dpkg-l.txt", data)
	if err != nil {
		t.Fatal(err)
	}
	query, _, err := inventory.ParsePackages("debian12.dpkg-query.tsv", read(t, "debian12.dpkg-query.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if sourceInfo || len(pkgs) != len(query) {
		t.Fatalf("%d packages, source info %v; dpkg-query lists %d", len(pkgs), sourceInfo, len(query))
	}
	for _, q := range query {
		p, ok := find(pkgs, q.Name)
		if !ok || p.Version != q.Version || p.Arch != q.Arch || p.SourceName != "" {
			t.Errorf("%s: dpkg -l %+v, dpkg-query %+v", q.Name, p, q)
		}
	}
}

// TestParseDpkgListNoble reads the real `dpkg -l` of an Ubuntu 24.04
// desktop VM (EduVM), as its documentation page shows it.
func TestParseDpkgListNoble(t *testing.T) {
	pkgs, _, err := inventory.ParsePackages("noble", read(t, "noble-eduvm.dpkg-l.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2393 {
		t.Errorf("%d packages, want 2393", len(pkgs))
	}
	if p, _ := find(pkgs, "libopenexr-3-1-30"); p.Version != "3.1.5-5.1build3" || p.Arch != "amd64" {
		t.Errorf("libopenexr-3-1-30 = %+v", p)
	}
	if p, _ := find(pkgs, "zlib1g"); p.Version != "1:1.3.dfsg-3.1ubuntu2" {
		t.Errorf("epoch lost: zlib1g = %+v", p)
	}
}

func TestParseDpkgListStates(t *testing.T) {
	// Indented as pasted from a document, without the header, with the
	// states dpkg -l shows.
	list := "    ii  bash              5.2.15-2+b2   amd64   GNU Bourne Again SHell\n" +
		"    rc  oldpkg            1.0-1         amd64   removed, configuration files remain\n" +
		"    hi  held:arm64        2.0-1         arm64   held but installed\n" +
		"    iU  unpacked          3.0-1         amd64   unpacked, not configured\n" +
		"    iHR broken            4.0-1         amd64   half-installed, reinstall required\n" +
		"    un  never             <none>        <none>  (no description available)\n"
	pkgs, sourceInfo, err := inventory.ParsePackages("list", []byte(list))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name+"/"+p.Arch)
	}
	if got := strings.Join(names, " "); got != "bash/amd64 held/arm64" || sourceInfo {
		t.Errorf("installed = %s (source info %v), want bash/amd64 held/arm64", got, sourceInfo)
	}
	for _, bad := range []string{
		"ii  onlyname\n",
		"Desired=Unknown/Install/Remove/Purge/Hold\nii  bad  :1  amd64  x\n",
		"Desired=Unknown/Install/Remove/Purge/Hold\nsomething else entirely\n",
	} {
		if _, _, err := inventory.ParsePackages("list", []byte(bad)); err == nil || !strings.Contains(err.Error(), "list:") {
			t.Errorf("%q: error %v, want one naming the line", bad, err)
		}
	}
}

// TestParseImageManifest reads image manifests: Ubuntu cloud image
// .manifest files list snaps ("snap:lxd<TAB>revision") after the debs, and
// those are not deb packages.
func TestParseImageManifest(t *testing.T) {
	manifest := "adduser\t3.137ubuntu1\nlibc6:amd64\t2.39-0ubuntu8.3\nsnap\t2013.11.29-10\n" +
		"snap:core22\t1621\nsnap:lxd\t29351\nsnap:snapd\t21759\n"
	pkgs, sourceInfo, err := inventory.ParsePackages("noble.manifest", []byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "adduser libc6 snap" || sourceInfo {
		t.Errorf("packages %s (source info %v), want adduser libc6 snap", got, sourceInfo)
	}
	// The official Docker image manifests have the same form.
	if pkgs, _, err := inventory.ParsePackages("focal.manifest", read(t, "focal.manifest")); err != nil || len(pkgs) != 92 {
		t.Errorf("focal manifest: %d packages, %v", len(pkgs), err)
	}
}

func FuzzParseDpkgList(f *testing.F) {
	f.Add(read(f, "debian12.dpkg-l.txt")[:3000])
	f.Add([]byte("  ii  a:amd64  1.0-1  amd64  x\n  rc  b  2  amd64  y\n"))
	f.Add([]byte("snap:lxd\t1\nsnap:amd64\t2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		format, err := inventory.DetectPackagesFormat(data)
		if err != nil {
			return
		}
		pkgs, sourceInfo, err := inventory.ParsePackages("fuzz", data)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || strings.ContainsAny(p.Name, " \t") {
				t.Fatalf("bad package %+v", p)
			}
			if format == inventory.FormatDpkgList && (sourceInfo || p.SourceName != "") {
				t.Fatalf("dpkg -l claims source information: %+v", p)
			}
		}
	})
}
