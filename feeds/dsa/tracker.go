package dsa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// DefaultTrackerURL is the security tracker's JSON export: every CVE per
// source package with, per release, its status and urgency.
const DefaultTrackerURL = "https://security-tracker.debian.org/tracker/data/json"

type trackerRelease struct {
	Status  string `json:"status"`
	Urgency string `json:"urgency"`
}

type trackerCVE struct {
	Releases map[string]trackerRelease `json:"releases"`
}

// DetectTracker reports whether data looks like the tracker's JSON export:
// an object of source packages whose values map CVE IDs to objects.
func DetectTracker(data []byte) bool {
	head := data[:min(len(data), 64<<10)]
	return bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) &&
		bytes.Contains(head, []byte(`"releases"`)) && bytes.Contains(head, []byte(`"urgency"`)) &&
		!bytes.Contains(head, []byte(`"schema_version"`))
}

// ParseTracker reads the tracker's JSON export and returns the urgencies
// that carry a level. "not yet assigned" and "end-of-life" say nothing about
// severity and are left out, as are releases patchwatch does not know (sid).
func ParseTracker(data []byte) ([]patchwatch.CVEUrgency, error) {
	return DecodeTracker(bytes.NewReader(data))
}

// DecodeTracker is ParseTracker over a stream: the export (hundreds of MB
// of JSON) is read one source package at a time, so memory holds one
// package's CVEs and the urgencies kept, never the whole document.
func DecodeTracker(r io.Reader) ([]patchwatch.CVEUrgency, error) {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("decode tracker JSON: byte %d: expected an object of source packages", dec.InputOffset())
	}
	out := []patchwatch.CVEUrgency{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("decode tracker JSON: byte %d: %w", dec.InputOffset(), err)
		}
		pkg, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("decode tracker JSON: byte %d: expected a source package name", dec.InputOffset())
		}
		var cves map[string]trackerCVE
		if err := dec.Decode(&cves); err != nil {
			return nil, fmt.Errorf("decode tracker JSON: package %s: byte %d: %w", pkg, dec.InputOffset(), err)
		}
		out = appendUrgencies(out, pkg, cves)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fmt.Errorf("decode tracker JSON: byte %d: unterminated object", dec.InputOffset())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode tracker JSON: byte %d: data after the object", dec.InputOffset())
	}
	sortUrgencies(out)
	return out, nil
}

// appendUrgencies adds the leveled urgencies of one source package's CVEs.
func appendUrgencies(out []patchwatch.CVEUrgency, pkg string, cves map[string]trackerCVE) []patchwatch.CVEUrgency {
	for cve, info := range cves {
		if !cveToken.MatchString(cve) {
			continue // TEMP-… entries have no CVE to match
		}
		for codename, rel := range info.Releases {
			version, ok := patchwatch.DebianVersion(codename)
			if !ok {
				continue
			}
			u := strings.TrimSuffix(strings.TrimSpace(rel.Urgency), "**")
			if level, ok := patchwatch.ParseSeverity(u); !ok || level == patchwatch.SeverityUnknown || u == "end-of-life" {
				continue
			}
			out = append(out, patchwatch.CVEUrgency{Release: patchwatch.ReleaseKey("debian", version), Package: pkg, CVE: cve, Urgency: u})
		}
	}
	return out
}

// sortUrgencies orders urgencies by release, package and CVE.
func sortUrgencies(out []patchwatch.CVEUrgency) {
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Release != b.Release {
			return a.Release < b.Release
		}
		if a.Package != b.Package {
			return a.Package < b.Package
		}
		return a.CVE < b.CVE
	})
}
