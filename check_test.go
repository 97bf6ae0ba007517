package patchwatch

import (
	"strings"
	"testing"
	"time"
)

func TestCheckEvents(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	fail := func(id string) CheckResult { return CheckResult{ID: id, Status: CheckFail} }
	pass := func(id string) CheckResult { return CheckResult{ID: id, Status: CheckPass} }
	unknown := func(id string) CheckResult { return CheckResult{ID: id, Status: CheckUnknown} }
	for _, tc := range []struct {
		name       string
		prev, next []CheckResult
		want       string
	}{
		{"first report tells every failure", nil, []CheckResult{fail("accounts"), pass("auto-updates"), fail("host-firewall")}, "accounts host-firewall"},
		{"still failing is not news", []CheckResult{fail("accounts")}, []CheckResult{fail("accounts")}, ""},
		{"pass to fail", []CheckResult{pass("accounts")}, []CheckResult{fail("accounts")}, "accounts"},
		{"unknown to fail", []CheckResult{unknown("accounts")}, []CheckResult{fail("accounts")}, "accounts"},
		{"fixed", []CheckResult{fail("accounts")}, []CheckResult{pass("accounts")}, ""},
	} {
		var got []string
		for _, e := range CheckEvents("web1", tc.prev, tc.next, now) {
			if e.Kind != EventCheckFailed || e.Host != "web1" || !e.At.Equal(now) {
				t.Errorf("%s: event %+v", tc.name, e)
			}
			got = append(got, e.Advisory)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: got %v, want %s", tc.name, got, tc.want)
		}
	}
}

func TestCheckSilences(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	s := Silence{Target: "check", Value: "no-mail-server", Scope: "owner", ScopeValue: "Alice@example.org", Reason: "list server", Expires: now.Add(time.Hour)}
	if err := s.Validate(now); err != nil {
		t.Fatal(err)
	}
	bad := s
	bad.Value = "no-such-check"
	if err := bad.Validate(now); err == nil || !strings.Contains(err.Error(), `no check is called "no-such-check"`) {
		t.Errorf("unknown check: %v", err)
	}
	h := &Host{Name: "web1", Owner: "alice@example.org", Checks: []CheckResult{
		{ID: "no-mail-server", Status: CheckFail}, {ID: "accounts", Status: CheckFail}, {ID: "auto-updates", Status: CheckPass}}}
	checks := HostChecks(h, []Silence{s}, now)
	if checks[0].Silenced == nil || checks[1].Silenced != nil || checks[0].Title != "No mail server listens" {
		t.Errorf("checks = %+v", checks)
	}
	if got := FailingChecks(checks); len(got) != 1 || got[0] != "accounts" {
		t.Errorf("failing = %v", got)
	}
	// Expired silences and findings do not mix with checks.
	if got := FailingChecks(HostChecks(h, []Silence{s}, now.Add(2*time.Hour))); len(got) != 2 {
		t.Errorf("after expiry: %v", got)
	}
	if s.Matches(&Finding{Host: "web1", Advisory: "no-mail-server"}, "alice@example.org") {
		t.Error("a check silence matched a finding")
	}
	if (&Silence{Target: "check", Value: "accounts", Scope: "host", ScopeValue: "web2"}).MatchesCheck("web1", "", "accounts") {
		t.Error("a host silence matched another host")
	}
}

func TestGuidelinesComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range Guidelines {
		if seen[g.ID] || g.Title == "" || g.Advice == "" {
			t.Errorf("guideline %+v", g)
		}
		seen[g.ID] = true
		if g.Fix[""] == "" && (g.Fix["deb"] == "" || g.Fix["rpm"] == "") {
			t.Errorf("%s has no fix for one family", g.ID)
		}
	}
}
