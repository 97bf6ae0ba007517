package inventory

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// FormatDpkgList is `dpkg -l` (dpkg-query --list) output: a five-line
// header, then "ii  name[:arch]  version  arch  description" rows. It
// carries no source package names.
const FormatDpkgList PackagesFormat = "dpkg-l"

// dpkgListHeaders begin the header lines of dpkg -l, which owners often
// paste indented (from a document) or without the header.
var dpkgListHeaders = []string{"Desired=", "| Status=", "|/ Err?=", "||/ ", "+++-"}

// isDpkgListLine reports whether a line (leading blanks removed) is part of
// dpkg -l output: a header line or a package row.
func isDpkgListLine(line string) bool {
	if isDpkgListHeader(line) {
		return true
	}
	_, ok := dpkgListState(line)
	return ok && len(strings.Fields(line)) >= 4
}

// dpkgListState returns the state code of a package row: desired action
// (u, i, h, r, p), package status (n, i, c, U, F, H, W, t), and an error
// flag (R) after them.
func dpkgListState(line string) (string, bool) {
	code, rest, ok := strings.Cut(line, " ")
	if !ok || len(code) < 2 || len(code) > 3 || rest == "" {
		return "", false
	}
	if !strings.ContainsRune("uihrp", rune(code[0])) || !strings.ContainsRune("nicUFHWt", rune(code[1])) {
		return "", false
	}
	if len(code) == 3 && code[2] != 'R' {
		return "", false
	}
	return code, true
}

// parseDpkgList reads dpkg -l output. Only rows whose status is "installed"
// (second letter i) count, as in the status file; removed packages whose
// configuration files remain (rc) and half-installed ones do not.
func parseDpkgList(name string, data []byte) ([]patchwatch.Package, error) {
	var pkgs []patchwatch.Package
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(strings.TrimRight(sc.Text(), "\r"))
		if line == "" || isDpkgListHeader(line) {
			continue
		}
		code, ok := dpkgListState(line)
		if !ok {
			return nil, fmt.Errorf("%s:%d: not a dpkg -l row (state, name, version, architecture, description): %q", name, lineNo, truncate(line, 80))
		}
		fields := strings.Fields(line)
		if len(fields) < 4 {
			return nil, fmt.Errorf("%s:%d: %d columns, want state, name, version, architecture and description", name, lineNo, len(fields))
		}
		if code[1] != 'i' {
			continue
		}
		p, err := namedPackage(fields[1], fields[2])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		p.Arch = fields[3]
		pkgs = append(pkgs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	return pkgs, nil
}

func isDpkgListHeader(line string) bool {
	for _, h := range dpkgListHeaders {
		if strings.HasPrefix(line, h) {
			return true
		}
	}
	return false
}

// dpkgArchitectures are the architecture names dpkg knows, to tell a
// multiarch "name:arch" from the "snap:name" lines of Ubuntu cloud image
// manifests.
var dpkgArchitectures = map[string]bool{
	"all": true, "amd64": true, "arm64": true, "armel": true, "armhf": true, "i386": true, "mips64el": true,
	"mipsel": true, "ppc64el": true, "ppc64": true, "riscv64": true, "s390x": true, "x32": true, "loong64": true,
	"alpha": true, "hppa": true, "ia64": true, "m68k": true, "powerpc": true, "sh4": true, "sparc64": true,
}

// isSnapLine reports whether a manifest line's name column is a snap
// ("snap:lxd" with its revision), which Ubuntu cloud image .manifest files
// list after the debs; snaps are not matched against deb advisories.
func isSnapLine(name string) bool {
	rest, ok := strings.CutPrefix(name, "snap:")
	return ok && !dpkgArchitectures[rest]
}

// namedPackage reads a package's "name[:arch]" and version columns.
func namedPackage(nameColumn, version string) (patchwatch.Package, error) {
	p := patchwatch.Package{Name: nameColumn, Version: version}
	if n, arch, ok := strings.Cut(p.Name, ":"); ok {
		p.Name, p.Arch = n, arch
	}
	if p.Name == "" {
		return p, errors.New("empty package name")
	}
	if err := checkVersion(p.Version); err != nil {
		return p, fmt.Errorf("package %s: %w", p.Name, err)
	}
	return p, nil
}
