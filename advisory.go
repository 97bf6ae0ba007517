package patchwatch

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Source names the publisher of an advisory.
type Source string

// The advisory sources patchwatch knows.
const (
	SourceUSN  Source = "usn"  // Ubuntu Security Notices
	SourceDSA  Source = "dsa"  // Debian Security Advisories
	SourceDLA  Source = "dla"  // Debian LTS Advisories
	SourceRHSA Source = "rhsa" // Red Hat Security Advisories
	SourceALSA Source = "alsa" // AlmaLinux Security Advisories
	SourceRLSA Source = "rlsa" // Rocky Linux Security Advisories
)

// Severity is patchwatch's normalized severity scale. The zero value is
// SeverityUnknown: a source that states no severity is never given a made-up one.
type Severity int

// Normalized severities, ordered so that a larger value is more severe.
const (
	SeverityUnknown Severity = iota
	SeverityNegligible
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"unknown", "negligible", "low", "medium", "high", "critical"}

// String returns the lowercase name used in output and JSON.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

// MarshalText encodes the severity by name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name; unknown words are an error.
func (s *Severity) UnmarshalText(b []byte) error {
	v, ok := ParseSeverity(string(b))
	if !ok {
		return fmt.Errorf("unknown severity %q", b)
	}
	*s = v
	return nil
}

// ParseSeverity maps a source's own word for severity or priority (Ubuntu
// priorities, Debian urgencies, Red Hat's impact names) onto the normalized scale.
func ParseSeverity(word string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "", "unknown", "not yet assigned", "untriaged":
		return SeverityUnknown, true
	case "negligible", "unimportant", "end-of-life":
		return SeverityNegligible, true
	case "low", "low**":
		return SeverityLow, true
	case "medium", "moderate", "medium**":
		return SeverityMedium, true
	case "high", "important", "high**":
		return SeverityHigh, true
	case "critical":
		return SeverityCritical, true
	}
	return SeverityUnknown, false
}

// PackageKind says whether a fix names a source package or a binary package.
type PackageKind string

// Package kinds.
const (
	KindSource PackageKind = "source"
	KindBinary PackageKind = "binary"
)

// Fix is one fixed package of an advisory on one release: installing
// FixedVersion (or newer) of Package removes the exposure.
type Fix struct {
	// Release is the distribution release key, such as "ubuntu:22.04"; see ReleaseKey.
	Release string `json:"release"`
	// Package is the package name the advisory fixes.
	Package string      `json:"package"`
	Kind    PackageKind `json:"kind"`
	// FixedVersion is empty when the advisory says the package is affected
	// but no fix exists yet.
	FixedVersion string `json:"fixed_version,omitempty"`
	// Binaries lists the binary packages built from a source fix, when the
	// source names them; they are used to write the fix command.
	Binaries []string `json:"binaries,omitempty"`
	// BinaryVersions gives the fixed version of each listed binary whose
	// version is not FixedVersion (Ubuntu's binary_version: bsdutils
	// 1:2.37.2-4ubuntu3.4 of util-linux 2.37.2-4ubuntu3.4), for comparing
	// an inventory that names only binaries.
	BinaryVersions map[string]string `json:"binary_versions,omitempty"`
	// Subscription names what a fix needs beyond the public archive, such as
	// "Ubuntu Pro (esm-apps)"; empty for ordinary updates.
	Subscription string `json:"subscription,omitempty"`
	// Module is the rpm module stream ("ruby:2.7") a modular package's fix
	// belongs to; it applies only to hosts on that stream.
	Module string `json:"module,omitempty"`
}

// Advisory is one security announcement with its structured fix data.
type Advisory struct {
	ID        string    `json:"id"`
	Source    Source    `json:"source"`
	Title     string    `json:"title"`
	Summary   string    `json:"summary,omitempty"`
	Details   string    `json:"details,omitempty"`
	Published time.Time `json:"published"`
	Modified  time.Time `json:"modified"`
	// SourceSeverity is the severity or priority as the source states it
	// (for example "medium" or "Important"); empty when it states none.
	SourceSeverity string   `json:"source_severity,omitempty"`
	Severity       Severity `json:"severity"`
	CVEs           []string `json:"cves,omitempty"`
	// CVSS is the highest CVSS base score the source gives, 0 when none.
	CVSS       float64 `json:"cvss,omitempty"`
	CVSSVector string  `json:"cvss_vector,omitempty"`
	URL        string  `json:"url,omitempty"`
	Fixes      []Fix   `json:"fixes"`
	// RebootHint is set when the advisory says, or its packages imply (a
	// kernel), that a reboot is needed after updating.
	RebootHint bool `json:"reboot_hint,omitempty"`
}

// Errors.
var (
	// ErrInvalidAdvisory is returned by Validate.
	ErrInvalidAdvisory = errors.New("invalid advisory")
	// ErrNotAdvisory marks well-formed records that carry no fix data to
	// match, such as announcements or CVE records; importers skip them.
	ErrNotAdvisory = errors.New("not an advisory with fixes")
)

// Validate reports whether the advisory carries what matching needs.
func (a *Advisory) Validate() error {
	switch {
	case a.ID == "":
		return fmt.Errorf("%w: missing id", ErrInvalidAdvisory)
	case a.Source == "":
		return fmt.Errorf("%w %s: missing source", ErrInvalidAdvisory, a.ID)
	case a.Published.IsZero():
		return fmt.Errorf("%w %s: missing published time", ErrInvalidAdvisory, a.ID)
	}
	for i, f := range a.Fixes {
		if f.Release == "" || f.Package == "" {
			return fmt.Errorf("%w %s: fix %d lacks release or package", ErrInvalidAdvisory, a.ID, i)
		}
		if f.Kind != KindSource && f.Kind != KindBinary {
			return fmt.Errorf("%w %s: fix %d has kind %q", ErrInvalidAdvisory, a.ID, i, f.Kind)
		}
	}
	return nil
}

// Normalize sorts and deduplicates the advisory's lists so that two imports
// of the same record compare equal.
func (a *Advisory) Normalize() {
	slices.Sort(a.CVEs)
	a.CVEs = slices.Compact(a.CVEs)
	for i := range a.Fixes {
		slices.Sort(a.Fixes[i].Binaries)
		a.Fixes[i].Binaries = slices.Compact(a.Fixes[i].Binaries)
		if len(a.Fixes[i].BinaryVersions) == 0 {
			a.Fixes[i].BinaryVersions = nil
		}
	}
	slices.SortFunc(a.Fixes, func(x, y Fix) int {
		if c := strings.Compare(x.Release, y.Release); c != 0 {
			return c
		}
		if c := strings.Compare(x.Package, y.Package); c != 0 {
			return c
		}
		if c := strings.Compare(x.Module, y.Module); c != 0 {
			return c
		}
		return strings.Compare(string(x.Kind), string(y.Kind))
	})
	a.Fixes = slices.CompactFunc(a.Fixes, func(x, y Fix) bool {
		return x.Release == y.Release && x.Package == y.Package && x.Kind == y.Kind &&
			x.FixedVersion == y.FixedVersion && x.Subscription == y.Subscription && x.Module == y.Module &&
			maps.Equal(x.BinaryVersions, y.BinaryVersions)
	})
	a.Published = a.Published.UTC()
	a.Modified = a.Modified.UTC()
}
