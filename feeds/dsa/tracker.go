package dsa

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	var raw map[string]map[string]trackerCVE
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("decode tracker JSON: %w", err)
	}
	out := []patchwatch.CVEUrgency{}
	for pkg, cves := range raw {
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
	}
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
	return out, nil
}
