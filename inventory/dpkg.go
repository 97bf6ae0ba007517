package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/describe"
	"github.com/patchwatch/patchwatch/version"
)

// PackagesFormat is a package list format ParsePackages recognizes.
type PackagesFormat string

// Package list formats.
const (
	FormatDpkgStatus PackagesFormat = "dpkg-status" // /var/lib/dpkg/status
	// FormatDpkgQuery is dpkg-query -W with the recommended format
	// ${Package}\t${Version}\t${source:Package}\t${source:Version}\t${Architecture}.
	FormatDpkgQuery PackagesFormat = "dpkg-query"
	// FormatNameVersion is plain `dpkg-query -W`: name<TAB>version, which
	// is also the form of the Ubuntu and Debian image manifests (cloud
	// image and OCI rootfs .manifest files; their snap:NAME lines are
	// skipped).
	FormatNameVersion PackagesFormat = "name-version"
)

// maxLine bounds one line of a package list; dpkg status descriptions are
// the longest lines in practice and stay far below it.
const maxLine = 1 << 20

// DetectPackagesFormat tells the format of a package list from its content.
func DetectPackagesFormat(data []byte) (PackagesFormat, error) {
	for _, raw := range bytes.SplitN(data, []byte("\n"), 50) {
		line := strings.TrimRight(string(raw), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "Package: ") || strings.HasPrefix(line, "Package:\t") {
			return FormatDpkgStatus, nil
		}
		if !strings.Contains(line, "\t") && isDpkgListLine(strings.TrimSpace(line)) {
			return FormatDpkgList, nil
		}
		switch n := strings.Count(line, "\t"); {
		case n >= 4:
			return FormatDpkgQuery, nil
		case n == 1:
			return FormatNameVersion, nil
		}
		if describe.IsBinary(data[:min(len(data), 512)]) {
			return "", fmt.Errorf("%s, expected a dpkg status file, dpkg-query or dpkg -l output, or an image manifest (text)", describe.Content(data))
		}
		return "", fmt.Errorf("first line %s is neither a dpkg status stanza, dpkg-query output, dpkg -l output nor an image manifest", describe.Quote(line, 80))
	}
	return "", fmt.Errorf("no packages")
}

// ParsePackages reads a dpkg status file or dpkg-query output, detected from
// the content. sourceInfo reports whether the list carried source package
// names. Errors name the file and line.
func ParsePackages(name string, data []byte) (pkgs []patchwatch.Package, sourceInfo bool, err error) {
	format, err := DetectPackagesFormat(data)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	switch format {
	case FormatDpkgStatus:
		pkgs, err = parseDpkgStatus(name, data)
		sourceInfo = true
	case FormatDpkgList:
		pkgs, err = parseDpkgList(name, data)
	default:
		pkgs, err = parseDpkgQuery(name, data)
		sourceInfo = format == FormatDpkgQuery
	}
	if err != nil {
		return nil, false, err
	}
	if len(pkgs) == 0 {
		return nil, false, fmt.Errorf("%s: no installed packages", name)
	}
	return pkgs, sourceInfo, nil
}

func parseDpkgStatus(name string, data []byte) ([]patchwatch.Package, error) {
	var pkgs packageSet
	fields := map[string]string{}
	start, lineNo := 0, 0
	var last string
	flush := func() error {
		defer clear(fields)
		if len(fields) == 0 {
			return nil
		}
		pkg := fields["Package"]
		if pkg == "" {
			return fmt.Errorf("%s:%d: stanza without a Package field", name, start)
		}
		status := strings.Fields(fields["Status"])
		if len(status) != 3 {
			return fmt.Errorf("%s:%d: package %s: Status %q is not three words", name, start, pkg, fields["Status"])
		}
		if status[2] != "installed" {
			return nil
		}
		p := patchwatch.Package{Name: pkg, Version: fields["Version"], Arch: fields["Architecture"]}
		if err := checkVersion(p.Version); err != nil {
			return fmt.Errorf("%s:%d: package %s: %w", name, start, pkg, err)
		}
		p.SourceName, p.SourceVersion = p.Name, p.Version
		if src := fields["Source"]; src != "" {
			srcName, srcVersion, err := parseSourceField(src)
			if err != nil {
				return fmt.Errorf("%s:%d: package %s: %w", name, start, pkg, err)
			}
			p.SourceName = srcName
			if srcVersion != "" {
				p.SourceVersion = srcVersion
			}
		}
		if err := pkgs.add(p); err != nil {
			return fmt.Errorf("%s:%d: %w", name, start, err)
		}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if len(fields) == 0 {
			start = lineNo
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, fmt.Errorf("%s:%d: continuation line before any field", name, lineNo)
			}
			continue // multi-line values (Description, Conffiles) are not needed
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s:%d: not a \"Field: value\" line: %q", name, lineNo, truncate(line, 80))
		}
		last = key
		fields[key] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return pkgs.pkgs, nil
}

// parseSourceField reads the Source field: "glibc" or "glibc (2.36-9)",
// the version being present when it differs from the binary's (binNMUs).
func parseSourceField(s string) (name, ver string, err error) {
	name, rest, hasVersion := strings.Cut(s, " ")
	if !hasVersion {
		return name, "", nil
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		return "", "", fmt.Errorf("source field %q is not \"name (version)\"", s)
	}
	ver = strings.TrimSpace(rest[1 : len(rest)-1])
	if err := checkVersion(ver); err != nil {
		return "", "", fmt.Errorf("source field %q: %w", s, err)
	}
	return name, ver, nil
}

func parseDpkgQuery(name string, data []byte) ([]patchwatch.Package, error) {
	var pkgs packageSet
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 2 && len(cols) != 5 {
			return nil, fmt.Errorf("%s:%d: %d tab-separated columns, want 2 (name, version) or 5 (name, version, source, source version, arch)", name, lineNo, len(cols))
		}
		if len(cols) == 2 && isSnapLine(cols[0]) {
			continue
		}
		if n, _, _ := strings.Cut(cols[0], ":"); cols[1] == "" && n != "" {
			continue // dpkg-query lists known but not installed packages without a version
		}
		p, err := namedPackage(cols[0], cols[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		if len(cols) == 5 {
			p.SourceName, p.SourceVersion, p.Arch = cols[2], cols[3], cols[4]
			if p.SourceName == "" {
				p.SourceName = p.Name
			}
			if p.SourceVersion == "" {
				p.SourceVersion = p.Version
			} else if err := checkVersion(p.SourceVersion); err != nil {
				return nil, fmt.Errorf("%s:%d: package %s source version: %w", name, lineNo, p.Name, err)
			}
		}
		if err := pkgs.add(p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	return pkgs.pkgs, nil
}

func checkVersion(v string) error {
	if v == "" {
		return fmt.Errorf("missing version")
	}
	_, err := version.ParseDeb(v)
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
