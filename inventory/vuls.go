package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// VulsHeaders are the request headers of Vuls' server mode.
type VulsHeaders struct {
	Family, Release, KernelRelease, KernelVersion, ServerName string
}

// vulsFamilies maps Vuls' X-Vuls-OS-Family values to os-release IDs.
var vulsFamilies = map[string]string{
	"ubuntu": "ubuntu", "debian": "debian", "redhat": "rhel", "rhel": "rhel", "centos": "centos",
	"alma": "almalinux", "almalinux": "almalinux", "rocky": "rocky",
}

// HostFromVuls builds a host from a Vuls server-mode request: the headers
// name the distribution, release and kernel; the body is Vuls' package
// query, dpkg-query -W -f='${binary:Package},${db:Status-Abbrev},${Version},${Source},${source:Version}\n'
// or rpm -qa --queryformat "%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH}[ %{SOURCERPM} %{MODULARITYLABEL}]\n".
func HostFromVuls(hd VulsHeaders, body []byte, now time.Time) (patchwatch.Host, error) {
	id, ok := vulsFamilies[strings.ToLower(hd.Family)]
	if !ok {
		return patchwatch.Host{}, fmt.Errorf("X-Vuls-OS-Family %q is not supported", hd.Family)
	}
	if hd.Release == "" {
		return patchwatch.Host{}, fmt.Errorf("X-Vuls-OS-Release header is required")
	}
	if hd.ServerName == "" {
		return patchwatch.Host{}, fmt.Errorf("X-Vuls-Server-Name header is required")
	}
	osr := patchwatch.OSRelease{ID: id, VersionID: hd.Release}
	release, family, err := patchwatch.ResolveRelease(osr)
	if err != nil {
		return patchwatch.Host{}, fmt.Errorf("X-Vuls-OS-Release: %w", err)
	}
	h := patchwatch.Host{Name: hd.ServerName, OS: osr, Release: release, Family: family,
		KernelRelease: hd.KernelRelease, KernelVersion: hd.KernelVersion, ReportedAt: now.UTC(), SourceInfo: true, EpochInfo: true}
	if family == patchwatch.FamilyRPM {
		h.Packages, h.ModuleInfo, err = parseVulsRPM(body)
		h.SourceInfo = h.ModuleInfo
	} else {
		h.Packages, h.SourceInfo, err = parseVulsDpkg(body)
	}
	if err != nil {
		return patchwatch.Host{}, err
	}
	if len(h.Packages) == 0 {
		return patchwatch.Host{}, fmt.Errorf("body: no installed packages")
	}
	return h, ValidateHost(&h)
}

// parseVulsDpkg reads Vuls' dpkg query; lines of only package, status and
// version (a query without ${Source},${source:Version}) carry no source
// information, and sourceInfo is then false.
func parseVulsDpkg(body []byte) (_ []patchwatch.Package, sourceInfo bool, err error) {
	sourceInfo = true
	var pkgs packageSet
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		c := strings.Split(line, ",")
		if len(c) != 5 && len(c) != 3 {
			return nil, false, fmt.Errorf("body line %d: %d comma-separated fields, want 5 (package, status, version, source, source version) or 3 (package, status, version)", n, len(c))
		}
		if status := c[1]; len(status) < 2 || status[1] != 'i' {
			continue // only installed packages
		}
		p := patchwatch.Package{Name: c[0], Version: c[2]}
		if name, arch, ok := strings.Cut(p.Name, ":"); ok {
			p.Name, p.Arch = name, arch
		}
		if err := checkVersion(p.Version); err != nil {
			return nil, false, fmt.Errorf("body line %d: package %s: %w", n, p.Name, err)
		}
		if len(c) == 3 {
			sourceInfo = false
			if err := pkgs.add(p); err != nil {
				return nil, false, fmt.Errorf("body line %d: %w", n, err)
			}
			continue
		}
		src, srcVer := strings.TrimSpace(c[3]), strings.TrimSpace(c[4])
		if name, ver, err := parseSourceField(src); err == nil && name != "" {
			src = name
			if srcVer == "" {
				srcVer = ver
			}
		}
		if src == "" {
			src = p.Name
		}
		if srcVer == "" {
			srcVer = p.Version
		}
		p.SourceName, p.SourceVersion = src, srcVer
		if err := pkgs.add(p); err != nil {
			return nil, false, fmt.Errorf("body line %d: %w", n, err)
		}
	}
	return pkgs.pkgs, sourceInfo, sc.Err()
}

func parseVulsRPM(body []byte) (_ []patchwatch.Package, full bool, err error) {
	var pkgs packageSet
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	n := 0
	full = true
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		c := strings.Fields(line)
		if len(c) != 5 && len(c) != 7 {
			return nil, false, fmt.Errorf("body line %d: %d fields, want 5 (name epoch version release arch) or 7 (… sourcerpm modularitylabel)", n, len(c))
		}
		if c[0] == "gpg-pubkey" {
			continue
		}
		// Without %{SOURCERPM} and %{MODULARITYLABEL} the line reads as the
		// recommended query with both unset.
		fields := append([]string{}, c[:5]...)
		if len(c) == 7 {
			fields = append(fields, c[5:]...)
		} else {
			fields = append(fields, "(none)", "(none)")
			full = false
		}
		p, err := parseRPMQueryLine(strings.Join(fields, "\t"))
		if err != nil {
			return nil, false, fmt.Errorf("body line %d: %w", n, err)
		}
		if err := pkgs.add(p); err != nil {
			return nil, false, fmt.Errorf("body line %d: %w", n, err)
		}
	}
	return pkgs.pkgs, full, sc.Err()
}
