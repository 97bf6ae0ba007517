package matcher_test

import (
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
)

func TestEnrich(t *testing.T) {
	h := host("debian:11")
	findings := []patchwatch.Finding{
		{Advisory: "DSA-5343-1", Source: patchwatch.SourceDSA, CVEs: []string{"CVE-2023-0215", "CVE-2023-0286"},
			Packages: []patchwatch.FindingPackage{{Name: "libssl1.1", Source: "openssl"}}},
		{Advisory: "DSA-5380-1", Source: patchwatch.SourceDSA, CVEs: []string{"CVE-2023-1393"},
			Packages: []patchwatch.FindingPackage{{Name: "xserver-xorg-core", Source: "xorg-server"}}},
		{Advisory: "DSA-9-1", Source: patchwatch.SourceDSA, CVEs: []string{"CVE-2020-1"},
			Packages: []patchwatch.FindingPackage{{Name: "foo"}}},
		{Advisory: "USN-1-1", Source: patchwatch.SourceUSN, Severity: patchwatch.SeverityLow, CVEs: []string{"CVE-2023-0286"},
			Packages: []patchwatch.FindingPackage{{Name: "libssl3", Source: "openssl"}}},
	}
	urgencies := map[string]string{
		"debian:11/openssl/CVE-2023-0286":     "high",
		"debian:11/openssl/CVE-2023-0215":     "low",
		"debian:11/xorg-server/CVE-2023-1393": "medium",
	}
	ctx := matcher.Context{
		Rules: patchwatch.DefaultUrgencyRules(),
		Now:   time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC),
		KEV:   map[string]patchwatch.KEVEntry{"CVE-2023-1393": {CVE: "CVE-2023-1393", DateAdded: "2023-04-01", DueDate: "2023-04-22"}},
		Urgency: func(release, pkg, cve string) string {
			return urgencies[release+"/"+pkg+"/"+cve]
		},
	}
	matcher.Enrich(h, findings, ctx)
	got := map[string]patchwatch.Finding{}
	for _, f := range findings {
		got[f.Advisory] = f
	}
	if f := got["DSA-5343-1"]; f.Severity != patchwatch.SeverityHigh || f.SourceSeverity != "high" {
		t.Errorf("tracker urgency not applied: %+v", f)
	}
	if f := got["DSA-5343-1"]; f.Urgency != patchwatch.UrgencyHigh {
		t.Errorf("urgency = %v %v", f.Urgency, f.UrgencyReasons)
	}
	// KEV leaves the severity as the source states it and raises the urgency.
	if f := got["DSA-5380-1"]; f.Severity != patchwatch.SeverityMedium || f.Urgency != patchwatch.UrgencyHigh || len(f.KEV) != 1 || f.KEV[0].DueDate != "2023-04-22" ||
		!strings.Contains(strings.Join(f.UrgencyReasons, "; "), "CVE-2023-1393 is exploited in the wild (CISA KEV since 2023-04-01, due 2023-04-22)") {
		t.Errorf("KEV not applied: %+v", f)
	}
	if f := got["DSA-9-1"]; f.Severity != patchwatch.SeverityUnknown || f.Urgency != patchwatch.UrgencyMedium || f.UrgencyReasons[0] != "severity unknown" {
		t.Errorf("made-up severity: %+v", f)
	}
	if f := got["USN-1-1"]; f.Severity != patchwatch.SeverityLow {
		t.Errorf("tracker urgency applied to an Ubuntu notice: %+v", f)
	}
	if findings[len(findings)-1].Advisory != "USN-1-1" {
		t.Errorf("not re-sorted: %v", summarize(findings))
	}
}
