package matcher

import (
	"fmt"
	"slices"
	"time"

	"github.com/patchwatch/patchwatch"
)

// Context is outside knowledge that refines findings after matching.
type Context struct {
	// Rules turn the facts into an urgency; Now is the time they apply at.
	Rules patchwatch.UrgencyRules
	Now   time.Time

	// KEV holds the CISA KEV entries of (at least) the findings' CVEs.
	KEV map[string]patchwatch.KEVEntry
	// KEVOf, when set, gives the KEV entries of a finding's CVEs in place
	// of KEV: a caller that meets one advisory on many hosts remembers
	// them by advisory.
	KEVOf func(f *patchwatch.Finding) []patchwatch.KEVEntry
	// Urgency returns the Debian security tracker's urgency of cve in the
	// source package pkg on release, or "" when it states none.
	Urgency func(release, pkg, cve string) string
}

// Enrich refines findings in place and gives each its urgency: a Debian
// advisory, which states no severity itself, takes the highest tracker
// urgency of its CVEs in the matched source packages; the KEV entries of
// the finding's CVEs are listed; then the urgency rules weigh severity,
// CVSS, KEV, the running kernel and the fix's age, and the host's live
// patches (patchwatch.ApplyLivepatch). Findings are re-sorted,
// most urgent first.
func Enrich(h *patchwatch.Host, findings []patchwatch.Finding, c Context) {
	for i := range findings {
		f := &findings[i]
		if c.Urgency != nil && (f.Source == patchwatch.SourceDSA || f.Source == patchwatch.SourceDLA) && f.Severity == patchwatch.SeverityUnknown {
			trackerSeverity(h, f, c.Urgency)
		}
		if c.KEVOf != nil {
			f.KEV = c.KEVOf(f)
		} else {
			f.KEV = nil
			for _, cve := range f.CVEs {
				if e, ok := c.KEV[cve]; ok {
					f.KEV = append(f.KEV, e)
				}
			}
		}
		c.Rules.AssessFinding(f, h.Checks, c.Now)
	}
	SortFindings(findings)
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
