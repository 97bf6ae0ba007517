package patchwatch

import "time"

// HostRecord is the stored read model of one host: everything the fleet
// queries (hosts, outstanding, digests, metrics) need, without the package
// list. It is rewritten in the same transaction as the host's report and
// finding records, so it never lags them.
type HostRecord struct {
	Name    string `json:"name"`
	Owner   string `json:"owner,omitempty"`
	Project string `json:"project,omitempty"`
	Release string `json:"release"`
	Family  Family `json:"family"`
	// Packages counts the installed packages.
	Packages   int  `json:"packages"`
	SourceInfo bool `json:"source_info"`
	// SourcesKnown is set when every package names its source: nothing the
	// binary → source map learns changes the host's findings. A record
	// written before the field existed leaves it unset (unknown).
	SourcesKnown bool `json:"sources_known,omitempty"`
	// RebootRequired is the distribution's own reboot flag; RebootSince is
	// when the host was first seen needing a reboot for any reason.
	RebootRequired bool          `json:"reboot_required,omitempty"`
	RebootSince    time.Time     `json:"reboot_since,omitzero"`
	ReportedAt     time.Time     `json:"reported_at"`
	Checks         []CheckResult `json:"checks,omitempty"`
	// Findings are the host's open findings, most urgent first as of the
	// last evaluation.
	Findings []FindingBrief `json:"findings,omitempty"`
}

// NewHostRecord returns the record of a host evaluated to findings, whose
// finding records (after reconciliation) give the open ones' first-seen
// times; rebootSince is when it was first seen needing a reboot.
func NewHostRecord(h *Host, findings []Finding, records []FindingRecord, rebootSince time.Time) HostRecord {
	// Records are few per host: found by a scan (they are sorted by
	// advisory as stored, but callers need not keep them so).
	firstSeen := func(advisory string) time.Time {
		for i := range records {
			if r := &records[i]; r.Advisory == advisory && r.Open() {
				return r.FirstSeen
			}
		}
		return time.Time{}
	}
	if len(records) > 32 {
		byAdvisory := make(map[string]time.Time, len(records))
		for _, r := range records {
			if r.Open() {
				byAdvisory[r.Advisory] = r.FirstSeen
			}
		}
		firstSeen = func(advisory string) time.Time { return byAdvisory[advisory] }
	}
	rec := HostRecord{Name: h.Name, Owner: h.Owner, Project: h.Project, Release: h.Release, Family: h.Family,
		Packages: len(h.Packages), SourceInfo: h.SourceInfo, SourcesKnown: true, RebootRequired: h.RebootRequired,
		RebootSince: rebootSince, ReportedAt: h.ReportedAt, Checks: h.Checks}
	if h.PackageCount > 0 {
		// A partial inventory still holds every package without source
		// information, so SourcesKnown below is the whole host's.
		rec.Packages = h.PackageCount
	}
	for i := range h.Packages {
		if h.Packages[i].SourceName == "" {
			rec.SourcesKnown = false
			break
		}
	}
	if len(findings) > 0 {
		rec.Findings = make([]FindingBrief, 0, len(findings))
	}
	for i := range findings {
		rec.Findings = append(rec.Findings, findings[i].Brief(firstSeen(findings[i].Advisory)))
	}
	return rec
}

// HasFinding reports whether the record lists an open finding of advisory.
func (r *HostRecord) HasFinding(advisory string) bool {
	for i := range r.Findings {
		if r.Findings[i].Advisory == advisory {
			return true
		}
	}
	return false
}

// FindingBrief is what fleet queries filter, count and sort one open
// finding by. Its time-dependent parts (urgency raised by the fix's age,
// deadline, overdue) are derived at read time from these fields.
type FindingBrief struct {
	Advisory string `json:"a"`
	// Urgency is the urgency at the last evaluation.
	Urgency   Urgency   `json:"u"`
	Severity  Severity  `json:"s"`
	Status    Status    `json:"st"`
	Published time.Time `json:"p"`
	FirstSeen time.Time `json:"f"`
	// CVEs and Packages (binary and source names) let silences match
	// without the finding's details.
	CVEs     []string `json:"c,omitempty"`
	Packages []string `json:"k,omitempty"`
}

// Brief returns the brief of an evaluated finding first seen at firstSeen.
func (f *Finding) Brief(firstSeen time.Time) FindingBrief {
	b := FindingBrief{Advisory: f.Advisory, Urgency: f.Urgency, Severity: f.Severity, Status: f.Status,
		Published: f.Published, FirstSeen: firstSeen, CVEs: f.CVEs}
	if len(f.Packages) > 0 {
		b.Packages = make([]string, 0, 2*len(f.Packages))
	}
	for _, p := range f.Packages {
		b.Packages = append(b.Packages, p.Name)
		if p.Source != "" && p.Source != p.Name {
			b.Packages = append(b.Packages, p.Source)
		}
	}
	return b
}

// Stub returns a finding that carries only what silences match on, for
// deciding whether a silence covers the brief's finding.
func (b *FindingBrief) Stub(host string) Finding {
	f := Finding{Host: host, Advisory: b.Advisory, CVEs: b.CVEs}
	for _, name := range b.Packages {
		f.Packages = append(f.Packages, FindingPackage{Name: name})
	}
	return f
}

// UrgencyAt returns the brief's urgency at now: the stored one, raised
// from low to medium once the fix has been out longer than the rules'
// FixAge (the only rule that depends on time, and it only ever raises).
func (b *FindingBrief) UrgencyAt(r UrgencyRules, now time.Time) Urgency {
	if b.Urgency == UrgencyLow && r.FixAge > 0 && !b.Published.IsZero() && now.Sub(b.Published) > r.FixAge {
		return UrgencyMedium
	}
	return b.Urgency
}
