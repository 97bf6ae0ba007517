package matcher

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// Context is outside knowledge that refines findings after matching.
type Context struct {
	// KEV holds the CISA KEV entries of (at least) the findings' CVEs.
	KEV map[string]patchwatch.KEVEntry
	// Urgency returns the Debian security tracker's urgency of cve in the
	// source package pkg on release, or "" when it states none.
	Urgency func(release, pkg, cve string) string
}

// Enrich refines findings in place: a Debian advisory, which states no
// severity itself, takes the highest tracker urgency of its CVEs in the
// matched source packages; a finding with a CVE in CISA's KEV catalog is at
// least high and lists the KEV entries. Findings are re-sorted.
func Enrich(h *patchwatch.Host, findings []patchwatch.Finding, c Context) {
	for i := range findings {
		f := &findings[i]
		if c.Urgency != nil && (f.Source == patchwatch.SourceDSA || f.Source == patchwatch.SourceDLA) && f.Severity == patchwatch.SeverityUnknown {
			trackerSeverity(h, f, c.Urgency)
		}
		for _, cve := range f.CVEs {
			if e, ok := c.KEV[cve]; ok {
				f.KEV = append(f.KEV, e)
			}
		}
		if len(f.KEV) > 0 && f.Severity < patchwatch.SeverityHigh {
			ids := make([]string, len(f.KEV))
			for j, e := range f.KEV {
				ids[j] = e.CVE
			}
			f.Notes = append(f.Notes, fmt.Sprintf("severity raised from %s to high: %s in CISA's Known Exploited Vulnerabilities catalog", f.Severity, strings.Join(ids, ", ")+isAre(len(ids))))
			f.Severity = patchwatch.SeverityHigh
		}
	}
	SortFindings(findings)
}

func isAre(n int) string {
	if n == 1 {
		return " is"
	}
	return " are"
}

func trackerSeverity(h *patchwatch.Host, f *patchwatch.Finding, urgency func(release, pkg, cve string) string) {
	var sources []string
	for _, p := range f.Packages {
		src := p.Source
		if src == "" {
			src = p.Name
		}
		if !slices.Contains(sources, src) {
			sources = append(sources, src)
		}
	}
	worst, word, from := patchwatch.SeverityUnknown, "", ""
	for _, src := range sources {
		for _, cve := range f.CVEs {
			u := urgency(h.Release, src, cve)
			if level, ok := patchwatch.ParseSeverity(u); ok && level > worst {
				worst, word, from = level, u, cve
			}
		}
	}
	if worst == patchwatch.SeverityUnknown {
		return
	}
	f.Severity = worst
	f.SourceSeverity = word
	f.Notes = append(f.Notes, fmt.Sprintf("severity: the Debian security tracker's urgency of %s", from))
}
