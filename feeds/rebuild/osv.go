// Package rebuild reads the advisories of the RHEL rebuilds in OSV form:
// AlmaLinux's ALSA (AlmaLinux/osv-database) and Rocky Linux's RLSA.
package rebuild

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/version"
)

type record struct {
	ID        string   `json:"id"`
	Summary   string   `json:"summary"`
	Details   string   `json:"details"`
	Related   []string `json:"related"`
	Aliases   []string `json:"aliases"`
	Upstream  []string `json:"upstream"`
	Published string   `json:"published"`
	Modified  string   `json:"modified"`
	Affected  []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
			Purl      string `json:"purl"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Fixed string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
	References []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references"`
}

var (
	idPattern = regexp.MustCompile(`^(ALSA|RLSA)-\d{4}:\d+$`)
	cveID     = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	// "Moderate: ruby:3.3 security, bug fix, and enhancement update"
	summaryPattern = regexp.MustCompile(`^(Low|Moderate|Important|Critical):\s+(\S+)`)
	moduleName     = regexp.MustCompile(`^[A-Za-z0-9_.+-]+:[A-Za-z0-9_.+-]+$`)
)

// Detect reports whether data is an ALSA or RLSA record in OSV form.
func Detect(data []byte) bool {
	head := data[:min(len(data), 4096)]
	return bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) &&
		(bytes.Contains(head, []byte(`"ALSA-`)) || bytes.Contains(head, []byte(`"RLSA-`))) &&
		bytes.Contains(data, []byte(`"affected"`))
}

// ErrNotSecurity marks bug-fix and enhancement records (ALBA, ALEA, RLBA).
var ErrNotSecurity = fmt.Errorf("%w: not a security advisory", patchwatch.ErrNotAdvisory)

// Parse reads one ALSA or RLSA OSV record. Fixed versions always carry an
// explicit epoch; a module stream named in the summary ("ruby:3.3 security
// update") is attached to the fixes of modular packages.
func Parse(data []byte) (patchwatch.Advisory, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return patchwatch.Advisory{}, fmt.Errorf("decode OSV record: %w", err)
	}
	if !idPattern.MatchString(r.ID) {
		return patchwatch.Advisory{}, fmt.Errorf("%w: id %q", ErrNotSecurity, r.ID)
	}
	a := patchwatch.Advisory{ID: r.ID, Title: r.Summary, Summary: r.Summary, Details: r.Details}
	prefix, _, _ := strings.Cut(r.ID, "-")
	if prefix == "ALSA" {
		a.Source = patchwatch.SourceALSA
	} else {
		a.Source = patchwatch.SourceRLSA
	}
	var err error
	if a.Published, err = time.Parse(time.RFC3339, r.Published); err != nil {
		return patchwatch.Advisory{}, fmt.Errorf("%s: published %q: %w", r.ID, r.Published, err)
	}
	if a.Modified, err = time.Parse(time.RFC3339, r.Modified); err != nil {
		a.Modified = a.Published
	}
	module := ""
	if m := summaryPattern.FindStringSubmatch(r.Summary); m != nil {
		a.SourceSeverity = m[1]
		a.Severity, _ = patchwatch.ParseSeverity(m[1])
		if moduleName.MatchString(m[2]) {
			module = m[2]
		}
	}
	// Rocky's errata service puts CVE IDs in upstream or related as often
	// as in aliases.
	for _, id := range slices.Concat(r.Aliases, r.Upstream, r.Related) {
		if cveID.MatchString(id) {
			a.CVEs = append(a.CVEs, id)
		}
	}
	for _, ref := range r.References {
		if ref.Type == "ADVISORY" && (strings.Contains(ref.URL, "errata.almalinux.org") || strings.Contains(ref.URL, "errata.rockylinux.org")) {
			a.URL = ref.URL
		}
	}
	if a.URL == "" && a.Source == patchwatch.SourceRLSA {
		a.URL = "https://errata.rockylinux.org/" + r.ID
	}
	for _, af := range r.Affected {
		release, err := ecosystemRelease(af.Package.Ecosystem)
		if err != nil {
			return patchwatch.Advisory{}, fmt.Errorf("%s: %w", r.ID, err)
		}
		if af.Package.Name == "" {
			return patchwatch.Advisory{}, fmt.Errorf("%s: affected entry without a package name", r.ID)
		}
		fix := patchwatch.Fix{Release: release, Package: af.Package.Name, Kind: patchwatch.KindBinary}
		for _, rg := range af.Ranges {
			for _, ev := range rg.Events {
				if ev.Fixed != "" {
					fix.FixedVersion = ev.Fixed
				}
			}
		}
		if fix.FixedVersion != "" {
			v, err := version.ParseRPM(fix.FixedVersion)
			if err != nil {
				return patchwatch.Advisory{}, fmt.Errorf("%s: %s fixed version: %w", r.ID, fix.Package, err)
			}
			if !v.HasEpoch() {
				// Rocky can give the epoch only in the purl.
				fix.FixedVersion = purlEpoch(af.Package.Purl) + ":" + fix.FixedVersion
			}
			if strings.Contains(fix.FixedVersion, ".module") {
				fix.Module = module
			}
		}
		if patchwatch.IsRPMKernel(fix.Package) {
			a.RebootHint = true
		}
		a.Fixes = append(a.Fixes, fix)
	}
	if len(a.Fixes) == 0 {
		return patchwatch.Advisory{}, errors.New(r.ID + ": no affected packages")
	}
	a.Normalize()
	return a, a.Validate()
}

// purlEpoch returns the epoch qualifier of a package URL
// ("pkg:rpm/rocky-linux/firefox?distro=rocky-linux-8&epoch=1"), or "0".
func purlEpoch(purl string) string {
	_, query, ok := strings.Cut(purl, "?")
	if !ok {
		return "0"
	}
	query, _, _ = strings.Cut(query, "#")
	values, err := url.ParseQuery(query)
	if err != nil {
		return "0"
	}
	n, err := strconv.ParseUint(values.Get("epoch"), 10, 31)
	if err != nil {
		return "0"
	}
	return strconv.FormatUint(n, 10)
}

// ecosystemRelease maps "AlmaLinux:9" and "Rocky Linux:9" to release keys.
func ecosystemRelease(ecosystem string) (string, error) {
	name, ver, ok := strings.Cut(ecosystem, ":")
	major, _, _ := strings.Cut(ver, ".")
	if !ok || major == "" || strings.Trim(major, "0123456789") != "" {
		return "", fmt.Errorf("unknown ecosystem %q", ecosystem)
	}
	switch name {
	case "AlmaLinux":
		return patchwatch.ReleaseKey("almalinux", major), nil
	case "Rocky Linux":
		return patchwatch.ReleaseKey("rocky", major), nil
	}
	return "", fmt.Errorf("unknown ecosystem %q", ecosystem)
}
