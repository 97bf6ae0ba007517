package patchwatch_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
)

func TestAssess(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	rules := patchwatch.DefaultUrgencyRules()
	kev := patchwatch.KEVEntry{CVE: "CVE-2024-3094", DateAdded: "2024-04-01", DueDate: "2024-04-22", Ransomware: "Unknown"}
	ransom := patchwatch.KEVEntry{CVE: "CVE-2023-4966", DateAdded: "2023-10-18", DueDate: "2023-11-08", Ransomware: "Known"}
	tests := []struct {
		name    string
		facts   patchwatch.UrgencyFacts
		want    patchwatch.Urgency
		reasons string
	}{
		{"source critical", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityCritical, SourceSeverity: "Critical"}, patchwatch.UrgencyCritical, "[source severity Critical]"},
		{"source moderate", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityMedium, SourceSeverity: "Moderate", FixPublished: now}, patchwatch.UrgencyMedium, "[source severity Moderate]"},
		{"negligible is low", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityNegligible, FixPublished: now}, patchwatch.UrgencyLow, "[source severity negligible]"},
		{"unknown without cvss", patchwatch.UrgencyFacts{}, patchwatch.UrgencyMedium, "[severity unknown]"},
		{"unknown with cvss", patchwatch.UrgencyFacts{CVSS: 9.8}, patchwatch.UrgencyCritical, "[no stated severity; CVSS 9.8]"},
		{"cvss raises medium", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityMedium, SourceSeverity: "medium", CVSS: 7.5}, patchwatch.UrgencyHigh, "[source severity medium CVSS 7.5]"},
		{"cvss never lowers", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityHigh, SourceSeverity: "Important", CVSS: 3.1}, patchwatch.UrgencyHigh, "[source severity Important]"},
		{"kev at least high", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityLow, SourceSeverity: "low", KEV: []patchwatch.KEVEntry{kev}, FixPublished: now},
			patchwatch.UrgencyHigh, "[source severity low CVE-2024-3094 is exploited in the wild (CISA KEV since 2024-04-01, due 2024-04-22)]"},
		{"kev ransomware critical", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityMedium, SourceSeverity: "medium", KEV: []patchwatch.KEVEntry{ransom}},
			patchwatch.UrgencyCritical, "[source severity medium CVE-2023-4966 is exploited in the wild (CISA KEV since 2023-10-18, due 2023-11-08, used by ransomware)]"},
		{"running kernel raises", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityMedium, SourceSeverity: "medium", RunningKernel: true}, patchwatch.UrgencyHigh, "[source severity medium affects the running kernel]"},
		{"running kernel stops at high", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityHigh, SourceSeverity: "high", RunningKernel: true}, patchwatch.UrgencyHigh, "[source severity high]"},
		{"old fix raises low", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityLow, SourceSeverity: "low", FixPublished: now.Add(-200 * 24 * time.Hour)}, patchwatch.UrgencyMedium, "[source severity low fix available for 200 days]"},
		{"recent low fix stays low", patchwatch.UrgencyFacts{Severity: patchwatch.SeverityLow, SourceSeverity: "low", FixPublished: now.Add(-10 * 24 * time.Hour)}, patchwatch.UrgencyLow, "[source severity low]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reasons := rules.Assess(tt.facts, now)
			if got != tt.want || fmt.Sprint(reasons) != tt.reasons {
				t.Errorf("Assess = %v %q, want %v %s", got, reasons, tt.want, tt.reasons)
			}
		})
	}
}

func TestUrgencyRulesValidate(t *testing.T) {
	r := patchwatch.DefaultUrgencyRules()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	r.Deadlines = map[string]time.Duration{"critical": time.Hour}
	if err := r.Validate(); err == nil {
		t.Error("missing deadlines accepted")
	}
	if d := patchwatch.DefaultUrgencyRules().Deadline(patchwatch.UrgencyCritical, time.Unix(0, 0)); d != time.Unix(0, 0).Add(48*time.Hour) {
		t.Errorf("deadline %v", d)
	}
}

func TestReconcile(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := func(id string, u patchwatch.Urgency, st patchwatch.Status) patchwatch.Finding {
		return patchwatch.Finding{Advisory: id, Urgency: u, Status: st}
	}
	kinds := func(events []patchwatch.Event) string {
		out := ""
		for _, e := range events {
			out += e.Kind + ":" + e.Advisory + " "
		}
		return out
	}
	// Day 0: two findings open.
	recs, ev := patchwatch.Reconcile("web1", "alice", nil, []patchwatch.Finding{
		f("USN-1-1", patchwatch.UrgencyMedium, patchwatch.StatusUpdate), f("USN-2-1", patchwatch.UrgencyHigh, patchwatch.StatusUpdate)}, t0)
	if kinds(ev) != "opened:USN-1-1 opened:USN-2-1 " || len(recs) != 2 {
		t.Fatalf("day 0: %s", kinds(ev))
	}
	// Day 1: USN-1-1 fixed; USN-2-1 becomes critical and waits for a reboot.
	t1 := t0.Add(24 * time.Hour)
	recs, ev = patchwatch.Reconcile("web1", "alice", recs, []patchwatch.Finding{f("USN-2-1", patchwatch.UrgencyCritical, patchwatch.StatusPendingReboot)}, t1)
	if kinds(ev) != "urgency-raised:USN-2-1 pending-reboot:USN-2-1 resolved:USN-1-1 " {
		t.Fatalf("day 1: %s", kinds(ev))
	}
	if !recs[0].ResolvedAt.Equal(t1) || recs[0].ResolvedBy != "fixed" || !recs[1].FirstSeen.Equal(t0) {
		t.Fatalf("records: %+v", recs)
	}
	// Day 2: a downgrade brings USN-1-1 back.
	t2 := t1.Add(24 * time.Hour)
	recs, ev = patchwatch.Reconcile("web1", "alice", recs, []patchwatch.Finding{
		f("USN-1-1", patchwatch.UrgencyMedium, patchwatch.StatusUpdate), f("USN-2-1", patchwatch.UrgencyCritical, patchwatch.StatusPendingReboot)}, t2)
	if kinds(ev) != "reopened:USN-1-1 " || recs[0].Reopened != 1 || !recs[0].FirstSeen.Equal(t2) || !recs[0].Open() {
		t.Fatalf("day 2: %s %+v", kinds(ev), recs[0])
	}
	// The host goes away: everything open resolves.
	recs, ev = patchwatch.ResolveHost(recs, t2.Add(time.Hour))
	if kinds(ev) != "resolved:USN-1-1 resolved:USN-2-1 " || recs[1].ResolvedBy != "host-removed" {
		t.Fatalf("host removed: %s", kinds(ev))
	}
	// Overdue: a critical finding first seen on day 0 is overdue after two days.
	rules := patchwatch.DefaultUrgencyRules()
	if !t0.Add(49 * time.Hour).After(rules.Deadline(patchwatch.UrgencyCritical, t0)) {
		t.Error("critical deadline is not two days")
	}
}

func TestSilence(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	finding := &patchwatch.Finding{Host: "web1", Advisory: "USN-6000-1", CVEs: []string{"CVE-2023-0461"},
		Packages: []patchwatch.FindingPackage{{Name: "linux-modules-5.4.0-1058-bluefield", Source: "linux-bluefield"}}}
	tests := []struct {
		name    string
		s       patchwatch.Silence
		owner   string
		matches bool
	}{
		{"advisory on host", patchwatch.Silence{Target: "advisory", Value: "USN-6000-1", Scope: "host", ScopeValue: "web1"}, "", true},
		{"advisory on other host", patchwatch.Silence{Target: "advisory", Value: "USN-6000-1", Scope: "host", ScopeValue: "web2"}, "", false},
		{"cve for owner", patchwatch.Silence{Target: "cve", Value: "cve-2023-0461", Scope: "owner", ScopeValue: "Alice@example.org"}, "alice@example.org", true},
		{"source package fleet-wide", patchwatch.Silence{Target: "package", Value: "linux-bluefield", Scope: "fleet"}, "", true},
		{"other package", patchwatch.Silence{Target: "package", Value: "openssl", Scope: "fleet"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Matches(finding, tt.owner); got != tt.matches {
				t.Errorf("Matches = %v", got)
			}
		})
	}
	s := patchwatch.Silence{Target: "advisory", Value: "USN-1-1", Scope: "fleet", Reason: "no such service here", Expires: now.Add(time.Hour)}
	if err := s.Validate(now); err != nil {
		t.Fatal(err)
	}
	if !s.Active(now) || s.Active(now.Add(time.Hour)) {
		t.Error("expiry is not exact")
	}
	s.Reason = " "
	if err := s.Validate(now); err == nil {
		t.Error("silence without a reason accepted")
	}
	s.Reason, s.Expires = "x", now
	if err := s.Validate(now); err == nil {
		t.Error("silence expiring now accepted")
	}
}
