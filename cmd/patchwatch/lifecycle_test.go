package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFindingLifeCycle follows the sample host through two weeks with an
// injected clock: findings open, one is fixed, the kernel waits for a
// reboot, another becomes overdue, is silenced, and comes back when the
// silence expires.
func TestFindingLifeCycle(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	day := func(n int) time.Time {
		return time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * 24 * time.Hour)
	}
	must := func(r result) result {
		t.Helper()
		if r.err != nil {
			t.Fatalf("%v\n%s%s", r.err, r.stdout, r.stderr)
		}
		return r
	}
	hostImport := func(n int, packages string) {
		t.Helper()
		must(runAt(t, db, day(n), "host", "import", "--name", "vm", "--owner", "alice@example.org", "--os-release", "../../samples/hosts/focal-bluefield.os-release",
			"--kernel-release", "5.4.0-1058-bluefield", packages))
	}
	must(runAt(t, db, day(0), "import", "--quiet", "../../samples/usn"))
	hostImport(0, "../../samples/hosts/focal-bluefield.dpkg-query.tsv")

	type finding struct {
		Advisory  string    `json:"advisory"`
		Urgency   string    `json:"urgency"`
		Reasons   []string  `json:"urgency_reasons"`
		Status    string    `json:"status"`
		FirstSeen time.Time `json:"first_seen"`
		Deadline  time.Time `json:"deadline"`
		Overdue   bool      `json:"overdue"`
		Silenced  *struct {
			ID string `json:"id"`
		} `json:"silenced"`
	}
	outstanding := func(n int, args ...string) map[string]finding {
		t.Helper()
		r := must(runAt(t, db, day(n), append([]string{"outstanding", "--format", "json"}, args...)...))
		var fs []finding
		if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil {
			t.Fatal(err)
		}
		out := map[string]finding{}
		for _, f := range fs {
			out[f.Advisory] = f
		}
		return out
	}
	got := outstanding(1)
	kernel := got["USN-6000-1"]
	if kernel.Urgency != "high" || !kernel.FirstSeen.Equal(day(0)) || !kernel.Deadline.Equal(day(7)) {
		t.Fatalf("day 1 kernel finding: %+v", kernel)
	}
	if w := got["USN-5614-1"]; w.Urgency != "medium" || w.Reasons[0] != "severity unknown" {
		t.Fatalf("day 1 wayland finding: %+v", w)
	}

	// Day 3: wayland fixed; a fixed kernel installed but the old one runs.
	pkgs, _ := os.ReadFile("../../samples/hosts/focal-bluefield.dpkg-query.tsv")
	updated := strings.ReplaceAll(string(pkgs), "1.18.0-1\twayland\t1.18.0-1", "1.18.0-1ubuntu0.1\twayland\t1.18.0-1ubuntu0.1") +
		"linux-modules-5.4.0-1059-bluefield\t5.4.0-1059.65\tlinux-bluefield\t5.4.0-1059.65\tarm64\n" +
		"linux-image-5.4.0-1059-bluefield\t5.4.0-1059.65\tlinux-signed-bluefield\t5.4.0-1059.65\tarm64\n"
	updatedPath := filepath.Join(dir, "updated.tsv")
	os.WriteFile(updatedPath, []byte(updated), 0o600)
	hostImport(3, updatedPath)
	got = outstanding(4)
	if _, ok := got["USN-5614-1"]; ok || got["USN-6000-1"].Status != "pending-reboot" {
		t.Fatalf("day 4: %+v", got)
	}
	r := must(runAt(t, db, day(4), "hosts", "--reboot-required"))
	if !strings.Contains(r.stdout, "required since "+day(3).Format(time.RFC3339)) {
		t.Errorf("hosts --reboot-required:\n%s", r.stdout)
	}

	// Day 10: the kernel finding (high, 7 days) is overdue.
	if f := outstanding(10, "--overdue")["USN-6000-1"]; !f.Overdue {
		t.Fatalf("day 10: not overdue: %+v", f)
	}
	// An owner accepts the risk for two days.
	if r := runAt(t, db, day(10), "silence", "add", "--advisory", "USN-6000-1", "--host", "vm", "--expires", "2d"); !isExit(r.err, ExitUsage) {
		t.Fatalf("silence without a reason: %v", r.err)
	}
	must(runAt(t, db, day(10), "silence", "add", "--advisory", "USN-6000-1", "--host", "vm", "--expires", "2d", "--reason", "maintenance window on the 12th", "--by", "alice"))
	if got := outstanding(11); len(got) != 0 {
		t.Fatalf("silenced finding still listed: %+v", got)
	}
	if f := outstanding(11, "--include-silenced")["USN-6000-1"]; f.Silenced == nil {
		t.Fatalf("--include-silenced: %+v", f)
	}
	if f, ok := outstanding(13)["USN-6000-1"]; !ok || f.Silenced != nil {
		t.Fatalf("day 13: the expired silence still hides the finding: %+v", f)
	}
	if r := must(runAt(t, db, day(13), "silence", "list", "--all")); !strings.Contains(r.stdout, "(expired)") {
		t.Errorf("silence list --all:\n%s", r.stdout)
	}

	// Time to patch: wayland took three days.
	r = must(runAt(t, db, day(14), "report", "time-to-patch", "--by", "urgency", "--format", "json"))
	var rows []struct {
		Group    string  `json:"group"`
		Resolved int     `json:"resolved"`
		Median   float64 `json:"median_days"`
		Open     int     `json:"open"`
		Overdue  int     `json:"overdue"`
	}
	json.Unmarshal([]byte(r.stdout), &rows)
	want := map[string]bool{"medium resolved 1 median 3": false, "high open 1 overdue 1": false}
	for _, row := range rows {
		if row.Group == "medium" && row.Resolved == 1 && row.Median == 3 {
			want["medium resolved 1 median 3"] = true
		}
		if row.Group == "high" && row.Open == 1 && row.Overdue == 1 {
			want["high open 1 overdue 1"] = true
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("report lacks %q: %s", k, r.stdout)
		}
	}

	// The host disappears: its findings resolve.
	must(runAt(t, db, day(15), "host", "remove", "vm"))
	r = must(runAt(t, db, day(15), "report", "time-to-patch", "--by", "host", "--format", "json"))
	if !strings.Contains(r.stdout, `"open": 0`) || !strings.Contains(r.stdout, `"resolved": 2`) {
		t.Errorf("after host removal: %s", r.stdout)
	}
}

// TestNewAdvisoryRematchesHosts: advisories imported after a host reported
// re-evaluate that host through the host index, and its findings start then.
func TestNewAdvisoryRematchesHosts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	day0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if r := runAt(t, db, day0, "host", "import", "--name", "vm", "--os-release", "../../samples/hosts/focal-bluefield.os-release", "../../samples/hosts/focal-bluefield.dpkg-query.tsv"); r.err != nil {
		t.Fatal(r.err)
	}
	day2 := day0.Add(48 * time.Hour)
	if r := runAt(t, db, day2, "import", "--quiet", "../../samples/usn/USN-5614-1.json"); r.err != nil {
		t.Fatal(r.err)
	}
	r := runAt(t, db, day2.Add(time.Hour), "report", "time-to-patch", "--by", "host", "--format", "json")
	if !strings.Contains(r.stdout, `"open": 1`) || !strings.Contains(r.stdout, `"oldest_open_days": 0.04`) {
		t.Errorf("the new advisory's finding was not recorded at import time: %s", r.stdout)
	}
}
