package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// Package list formats of the RHEL family.
const (
	// FormatRPMQuery is the recommended
	// rpm -qa --qf '%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{MODULARITYLABEL}\n'.
	FormatRPMQuery PackagesFormat = "rpm-query"
	// FormatRPMNEVRA is plain `rpm -qa`: name-version-release.arch, no epoch.
	FormatRPMNEVRA PackagesFormat = "rpm-qa"
	// FormatKiwi is kiwi's .packages: name|epoch|version|release|arch|disturl|license.
	FormatKiwi PackagesFormat = "kiwi-packages"
)

// RecommendedRPMQuery is the rpm command whose output carries everything
// matching needs: epochs, source packages and module streams.
const RecommendedRPMQuery = `rpm -qa --qf '%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{MODULARITYLABEL}\n'`

var rpmArches = []string{"x86_64", "aarch64", "noarch", "i686", "i386", "ppc64le", "ppc64", "s390x", "armv7hl", "src", "(none)"}

// RPMList is a parsed rpm package list and what it lacked.
type RPMList struct {
	Packages   []patchwatch.Package
	EpochInfo  bool
	SourceInfo bool
	ModuleInfo bool
}

// ParseRPMPackages reads an rpm package list in any of the formats above,
// detected from the content. Errors name the file and line.
func ParseRPMPackages(name string, data []byte) (RPMList, error) {
	if isRPMManifest(data) {
		return parseRPMManifest(name, data)
	}
	var list RPMList
	var pkgs packageSet
	format := PackagesFormat("")
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if format == "" {
			switch {
			case strings.Count(line, "\t") == 6:
				format = FormatRPMQuery
				list.EpochInfo, list.SourceInfo, list.ModuleInfo = true, true, true
			case strings.Count(line, "|") == 6:
				format = FormatKiwi
				list.EpochInfo = true
			case !strings.ContainsAny(line, " \t|"):
				format = FormatRPMNEVRA
			default:
				return RPMList{}, fmt.Errorf("%s:%d: not an rpm package list (%s, plain rpm -qa, or kiwi .packages)", name, lineNo, RecommendedRPMQuery)
			}
		}
		var p patchwatch.Package
		var err error
		switch format {
		case FormatRPMQuery:
			p, err = parseRPMQueryLine(line)
		case FormatKiwi:
			p, err = parseKiwiLine(line)
		default:
			p, err = parseNEVRALine(line)
		}
		if err != nil {
			return RPMList{}, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		if p.Name == "gpg-pubkey" {
			continue // imported signing keys, not software
		}
		if err := pkgs.add(p); err != nil {
			return RPMList{}, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
	}
	list.Packages = pkgs.pkgs
	if err := sc.Err(); err != nil {
		return RPMList{}, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	if len(list.Packages) == 0 {
		return RPMList{}, fmt.Errorf("%s: no packages", name)
	}
	return list, nil
}

// checkPart refuses an empty version or release, or one holding a
// character rpm does not allow there.
func checkPart(what, s string) error {
	if s == "" || strings.ContainsAny(s, " \t-:") {
		return fmt.Errorf("bad %s %q", what, s)
	}
	return nil
}

func evr(epoch, version, release string) (string, error) {
	if err := checkPart("version", version); err != nil {
		return "", err
	}
	if err := checkPart("release", release); err != nil {
		return "", err
	}
	vr := version + "-" + release
	if epoch == "" {
		return vr, nil
	}
	if _, err := strconv.ParseUint(epoch, 10, 32); err != nil {
		return "", fmt.Errorf("bad epoch %q", epoch)
	}
	return epoch + ":" + vr, nil
}

// parseRPMQueryLine reads one line of RecommendedRPMQuery output.
func parseRPMQueryLine(line string) (patchwatch.Package, error) {
	c := strings.Split(line, "\t")
	if len(c) != 7 {
		return patchwatch.Package{}, fmt.Errorf("%d tab-separated columns, want 7", len(c))
	}
	v, err := evr(c[1], c[2], c[3])
	if err != nil {
		return patchwatch.Package{}, err
	}
	p := patchwatch.Package{Name: c[0], Version: v, Arch: c[4]}
	if p.Name == "" {
		return p, fmt.Errorf("empty package name")
	}
	if c[5] != "(none)" && c[5] != "" {
		src, srcVR, err := parseSourceRPM(c[5])
		if err != nil {
			return p, err
		}
		p.SourceName, p.SourceVersion = src, c[1]+":"+srcVR
	}
	if c[6] != "(none)" && c[6] != "" {
		p.Module = moduleStream(c[6])
	}
	return p, nil
}

// parseSourceRPM reads a %{SOURCERPM} file name: name-version-release.src.rpm.
func parseSourceRPM(s string) (name, vr string, err error) {
	base, ok := strings.CutSuffix(s, ".src.rpm")
	if !ok {
		base, ok = strings.CutSuffix(s, ".nosrc.rpm")
	}
	if !ok {
		return "", "", fmt.Errorf("source rpm %q does not end in .src.rpm", s)
	}
	r := strings.LastIndexByte(base, '-')
	if r <= 0 {
		return "", "", fmt.Errorf("source rpm %q has no release", s)
	}
	v := strings.LastIndexByte(base[:r], '-')
	if v <= 0 {
		return "", "", fmt.Errorf("source rpm %q has no version", s)
	}
	return base[:v], base[v+1:], nil
}

func parseKiwiLine(line string) (patchwatch.Package, error) {
	c := strings.Split(line, "|")
	epoch := c[1]
	if epoch == "(none)" {
		epoch = "0"
	}
	if c[0] == "" {
		return patchwatch.Package{}, fmt.Errorf("empty package name")
	}
	v, err := evr(epoch, c[2], c[3])
	if err != nil {
		return patchwatch.Package{}, err
	}
	return patchwatch.Package{Name: c[0], Version: v, Arch: c[4]}, nil
}

// parseNEVRALine reads a plain `rpm -qa` line (name-version-release.arch)
// or an NVR without the arch, as some image package lists print them.
func parseNEVRALine(line string) (patchwatch.Package, error) {
	rest, arch := line, ""
	if dot := strings.LastIndexByte(line, '.'); dot > 0 && slices.Contains(rpmArches, line[dot+1:]) {
		rest, arch = line[:dot], line[dot+1:]
	}
	r := strings.LastIndexByte(rest, '-')
	if r <= 0 {
		return patchwatch.Package{}, fmt.Errorf("%q is not name-version-release[.arch]", line)
	}
	v := strings.LastIndexByte(rest[:r], '-')
	if v <= 0 {
		return patchwatch.Package{}, fmt.Errorf("%q is not name-version-release[.arch]", line)
	}
	ver, err := evr("", rest[v+1:r], rest[r+1:])
	if err != nil {
		return patchwatch.Package{}, fmt.Errorf("%q: %w", line, err)
	}
	return patchwatch.Package{Name: rest[:v], Version: ver, Arch: arch}, nil
}

// moduleStream reduces a %{MODULARITYLABEL} (name:stream:version:context)
// to name:stream.
func moduleStream(label string) string {
	parts := strings.SplitN(label, ":", 3)
	if len(parts) < 2 {
		return label
	}
	return parts[0] + ":" + parts[1]
}
