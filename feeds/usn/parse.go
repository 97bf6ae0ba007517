// Package usn reads Ubuntu Security Notices: the OSV records and legacy USN
// JSON of canonical/ubuntu-security-notices, and the notices RSS feed that
// tells which notices are new.
package usn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// ErrNotUSN is returned for well-formed records that are not notices, such
// as the UBUNTU-CVE records that share the OSV format.
var ErrNotUSN = fmt.Errorf("%w: not a USN record", patchwatch.ErrNotAdvisory)

// NoticeURL is the public page of a notice.
func NoticeURL(id string) string { return "https://ubuntu.com/security/notices/" + id }

var (
	usnID     = regexp.MustCompile(`^USN-\d+-\d+$`)
	legacyKey = regexp.MustCompile(`^\d+-\d+$`)
)

// Format is a record format this package reads.
type Format int

// Formats recognized by Detect.
const (
	FormatUnknown        Format = iota
	FormatOSV                   // osv/usn/USN-*.json
	FormatLegacy                // usn/NNNN-N.json, one legacy record
	FormatLegacyDatabase        // database.json: an object of legacy records by ID
)

// Detect tells from the content whether data is a USN record this package
// reads, without parsing it fully.
func Detect(data []byte) Format {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return FormatUnknown
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return FormatUnknown
	}
	_, hasAffected := probe["affected"]
	_, hasSchema := probe["schema_version"]
	if hasAffected && hasSchema {
		var id struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(data, &id)
		if strings.HasPrefix(id.ID, "USN-") || strings.HasPrefix(id.ID, "UBUNTU-CVE-") || strings.HasPrefix(id.ID, "LSN-") {
			return FormatOSV
		}
		return FormatUnknown
	}
	_, hasReleases := probe["releases"]
	_, hasTitle := probe["title"]
	if hasReleases && hasTitle {
		return FormatLegacy
	}
	// A legacy database: every value is a legacy record.
	if len(probe) > 0 {
		for k, v := range probe {
			if !legacyKey.MatchString(k) {
				return FormatUnknown
			}
			if Detect(v) != FormatLegacy {
				return FormatUnknown
			}
			break
		}
		return FormatLegacyDatabase
	}
	return FormatUnknown
}

// Parse reads one OSV or legacy USN record, or a legacy database of them.
func Parse(data []byte) ([]patchwatch.Advisory, error) {
	switch Detect(data) {
	case FormatOSV:
		a, err := ParseOSV(data)
		if err != nil {
			return nil, err
		}
		return []patchwatch.Advisory{a}, nil
	case FormatLegacy:
		a, err := ParseLegacy(data)
		if err != nil {
			return nil, err
		}
		return []patchwatch.Advisory{a}, nil
	case FormatLegacyDatabase:
		var db map[string]json.RawMessage
		if err := json.Unmarshal(data, &db); err != nil {
			return nil, fmt.Errorf("decode legacy USN database: %w", err)
		}
		keys := make([]string, 0, len(db))
		for k := range db {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]patchwatch.Advisory, 0, len(db))
		var errs []error
		for _, k := range keys {
			a, err := ParseLegacy(db[k])
			if err != nil {
				errs = append(errs, fmt.Errorf("record %s: %w", k, err))
				continue
			}
			out = append(out, a)
		}
		return out, errors.Join(errs...)
	}
	return nil, errors.New("not an Ubuntu OSV or legacy USN record")
}

type osvRecord struct {
	SchemaVersion string   `json:"schema_version"`
	ID            string   `json:"id"`
	Summary       string   `json:"summary"`
	Details       string   `json:"details"`
	Aliases       []string `json:"aliases"`
	Upstream      []string `json:"upstream"`
	Published     string   `json:"published"`
	Modified      string   `json:"modified"`
	Affected      []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
			Purl      string `json:"purl"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced"`
				Fixed      string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
		EcosystemSpecific struct {
			Binaries []struct {
				Name    string `json:"binary_name"`
				Version string `json:"binary_version"`
			} `json:"binaries"`
			Availability string `json:"availability"`
		} `json:"ecosystem_specific"`
		DatabaseSpecific struct {
			CVEsMap struct {
				CVEs []struct {
					ID       string `json:"id"`
					Severity []struct {
						Type  string `json:"type"`
						Score string `json:"score"`
					} `json:"severity"`
				} `json:"cves"`
			} `json:"cves_map"`
		} `json:"database_specific"`
	} `json:"affected"`
	References []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references"`
}

var cveID = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// ParseOSV reads one record of osv/usn/ in canonical/ubuntu-security-notices.
func ParseOSV(data []byte) (patchwatch.Advisory, error) {
	var r osvRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return patchwatch.Advisory{}, fmt.Errorf("decode USN OSV record: %w", err)
	}
	if !usnID.MatchString(r.ID) {
		return patchwatch.Advisory{}, fmt.Errorf("%w: id %q", ErrNotUSN, r.ID)
	}
	a := patchwatch.Advisory{
		ID:      r.ID,
		Source:  patchwatch.SourceUSN,
		Title:   r.Summary,
		Summary: r.Summary,
		Details: r.Details,
		URL:     NoticeURL(r.ID),
	}
	var err error
	if a.Published, err = parseTime(r.Published); err != nil {
		return patchwatch.Advisory{}, fmt.Errorf("%s: published: %w", r.ID, err)
	}
	if a.Modified, err = parseTime(r.Modified); err != nil {
		a.Modified = a.Published
	}
	for _, ref := range r.References {
		if ref.Type == "ADVISORY" && strings.HasPrefix(ref.URL, "https://") {
			a.URL = ref.URL
			break
		}
	}
	for _, id := range append(append([]string{}, r.Upstream...), r.Aliases...) {
		if cveID.MatchString(id) {
			a.CVEs = append(a.CVEs, id)
		}
	}
	worst := patchwatch.SeverityUnknown
	for _, af := range r.Affected {
		release, subscription, err := ecosystemRelease(af.Package.Ecosystem, af.EcosystemSpecific.Availability)
		if err != nil {
			return patchwatch.Advisory{}, fmt.Errorf("%s: %w", r.ID, err)
		}
		if af.Package.Name == "" {
			return patchwatch.Advisory{}, fmt.Errorf("%s: affected entry without a package name", r.ID)
		}
		fix := patchwatch.Fix{
			Release:      release,
			Package:      af.Package.Name,
			Kind:         patchwatch.KindSource,
			Subscription: subscription,
		}
		for _, rg := range af.Ranges {
			if rg.Type != "ECOSYSTEM" {
				continue
			}
			for _, ev := range rg.Events {
				if ev.Fixed != "" {
					fix.FixedVersion = ev.Fixed
				}
			}
		}
		for _, b := range af.EcosystemSpecific.Binaries {
			// Debug-symbol packages live in the ddebs archive, not in the
			// pockets apt upgrades from.
			if b.Name != "" && !strings.HasSuffix(b.Name, "-dbgsym") {
				fix.Binaries = append(fix.Binaries, b.Name)
				setBinaryVersion(&fix, b.Name, b.Version)
			}
		}
		a.Fixes = append(a.Fixes, fix)
		if patchwatch.IsKernelSource(fix.Package) {
			a.RebootHint = true
		}
		for _, c := range af.DatabaseSpecific.CVEsMap.CVEs {
			if cveID.MatchString(c.ID) {
				a.CVEs = append(a.CVEs, c.ID)
			}
			for _, s := range c.Severity {
				if s.Type != "Ubuntu" {
					continue
				}
				if level, ok := patchwatch.ParseSeverity(s.Score); ok && level > worst {
					worst = level
				}
			}
		}
	}
	if worst != patchwatch.SeverityUnknown {
		a.Severity = worst
		a.SourceSeverity = worst.String()
	}
	a.Normalize()
	return a, a.Validate()
}

var ubuntuVersionToken = regexp.MustCompile(`^\d\d\.\d\d$`)

// ecosystemRelease maps an OSV ecosystem such as "Ubuntu:22.04:LTS",
// "Ubuntu:Pro:16.04:LTS" or "Ubuntu:Pro:FIPS-updates:24.04:LTS" to a
// release key and the subscription its fixes need.
func ecosystemRelease(ecosystem, availability string) (release, subscription string, err error) {
	parts := strings.Split(ecosystem, ":")
	if len(parts) < 2 || parts[0] != "Ubuntu" {
		return "", "", fmt.Errorf("unknown ecosystem %q", ecosystem)
	}
	var version string
	var qualifiers []string
	for _, p := range parts[1:] {
		switch {
		case ubuntuVersionToken.MatchString(p):
			version = p
		case p == "LTS" || p == "Pro":
		default:
			qualifiers = append(qualifiers, p)
		}
	}
	if version == "" {
		return "", "", fmt.Errorf("no release version in ecosystem %q", ecosystem)
	}
	pro := parts[1] == "Pro"
	if availability != "" {
		pro = !strings.HasPrefix(availability, "No subscription")
	}
	if pro {
		subscription = "Ubuntu Pro"
		if strings.Contains(availability, "Infra-only") {
			qualifiers = append(qualifiers, "esm-infra")
		}
		if len(qualifiers) > 0 {
			subscription += " (" + strings.Join(qualifiers, ", ") + ")"
		}
	}
	return patchwatch.ReleaseKey("ubuntu", version), subscription, nil
}

type legacyRecord struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Summary     string   `json:"summary"`
	ISummary    string   `json:"isummary"`
	Description string   `json:"description"`
	Action      string   `json:"action"`
	Timestamp   float64  `json:"timestamp"`
	CVEs        []string `json:"cves"`
	Releases    map[string]struct {
		Sources map[string]struct {
			Version string `json:"version"`
		} `json:"sources"`
		Binaries map[string]struct {
			Version string `json:"version"`
			Pocket  string `json:"pocket"`
		} `json:"binaries"`
		AllBinaries map[string]struct {
			Version string `json:"version"`
			Source  string `json:"source"`
			Pocket  string `json:"pocket"`
		} `json:"allbinaries"`
	} `json:"releases"`
}

// ParseLegacy reads one record in the USN JSON format of the Ubuntu Security
// Team (usn/NNNN-N.json in canonical/ubuntu-security-notices).
func ParseLegacy(data []byte) (patchwatch.Advisory, error) {
	var r legacyRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return patchwatch.Advisory{}, fmt.Errorf("decode legacy USN record: %w", err)
	}
	id := r.ID
	if !strings.HasPrefix(id, "USN-") {
		id = "USN-" + id
	}
	if !usnID.MatchString(id) {
		return patchwatch.Advisory{}, fmt.Errorf("%w: id %q", ErrNotUSN, r.ID)
	}
	if r.Timestamp <= 0 || math.IsNaN(r.Timestamp) || r.Timestamp > 1e11 {
		return patchwatch.Advisory{}, fmt.Errorf("%s: timestamp %v out of range", id, r.Timestamp)
	}
	sec, frac := math.Modf(r.Timestamp)
	published := time.Unix(int64(sec), int64(frac*1e9)).UTC().Truncate(time.Second)
	a := patchwatch.Advisory{
		ID:        id,
		Source:    patchwatch.SourceUSN,
		Title:     r.Title,
		Summary:   r.Summary,
		Details:   r.Description,
		Published: published,
		Modified:  published,
		URL:       NoticeURL(id),
	}
	if a.Title == "" {
		a.Title = r.Summary
	}
	for _, c := range r.CVEs {
		if cveID.MatchString(c) {
			a.CVEs = append(a.CVEs, c)
		}
	}
	if strings.Contains(strings.ToLower(r.Action), "reboot") {
		a.RebootHint = true
	}
	for codename, rel := range r.Releases {
		version, ok := patchwatch.UbuntuVersion(codename)
		if !ok {
			return patchwatch.Advisory{}, fmt.Errorf("%s: unknown Ubuntu release %q", id, codename)
		}
		release := patchwatch.ReleaseKey("ubuntu", version)
		if len(rel.AllBinaries) > 0 {
			// Group the binaries by their source: the kernel meta packages
			// come from a source (linux-meta-*) that "sources" omits.
			bySource := map[string]*patchwatch.Fix{}
			for name, b := range rel.AllBinaries {
				src := b.Source
				if src == "" {
					src = name
				}
				f := bySource[src]
				if f == nil {
					f = &patchwatch.Fix{Release: release, Package: src, Kind: patchwatch.KindSource, Subscription: pocketSubscription(b.Pocket)}
					if s, ok := rel.Sources[src]; ok {
						f.FixedVersion = s.Version
					}
					bySource[src] = f
				}
				if f.FixedVersion == "" {
					f.FixedVersion = b.Version
				}
				f.Binaries = append(f.Binaries, name)
			}
			for name, b := range rel.AllBinaries {
				src := b.Source
				if src == "" {
					src = name
				}
				setBinaryVersion(bySource[src], name, b.Version)
			}
			for _, f := range bySource {
				a.Fixes = append(a.Fixes, *f)
			}
		} else {
			for name, b := range rel.Binaries {
				a.Fixes = append(a.Fixes, patchwatch.Fix{
					Release: release, Package: name, Kind: patchwatch.KindBinary,
					FixedVersion: b.Version, Subscription: pocketSubscription(b.Pocket),
				})
			}
		}
		for src := range rel.Sources {
			if patchwatch.IsKernelSource(src) {
				a.RebootHint = true
			}
		}
	}
	a.Normalize()
	return a, a.Validate()
}

func pocketSubscription(pocket string) string {
	if strings.HasPrefix(pocket, "esm-") {
		return "Ubuntu Pro (" + pocket + ")"
	}
	return ""
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unparsable time %q", s)
}

// setBinaryVersion records a listed binary's own fixed version when it is
// not the source fix's.
func setBinaryVersion(f *patchwatch.Fix, binary, version string) {
	if version == "" || version == f.FixedVersion {
		return
	}
	if f.BinaryVersions == nil {
		f.BinaryVersions = map[string]string{}
	}
	f.BinaryVersions[binary] = version
}
