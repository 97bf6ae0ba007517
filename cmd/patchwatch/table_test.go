package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/patchwatch/patchwatch"
)

// tabwriterTable is the table as text/tabwriter aligns it, over findings
// held whole: what findingsTable must write, byte for byte.
func tabwriterTable(findings []patchwatch.Finding) string {
	var out bytes.Buffer
	if len(findings) == 0 {
		return "No outstanding advisories.\n"
	}
	tw := tabwriter.NewWriter(&out, 0, 4, tablePadding, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableHeader[:], "\t"))
	for i := range findings {
		row := tableRow(&findings[i])
		fmt.Fprintln(tw, strings.Join(row[:], "\t"))
	}
	tw.Flush()
	for i := range findings {
		writeFindingDetails(&out, &findings[i])
	}
	return out.String()
}

func tableFindings(n int) []patchwatch.Finding {
	titles := []string{"openssl: security update", "Important: kernel security, bug fix, and enhancement update for Red Hat Enterprise Linux 9",
		"Ünïcödé — “quoted” title", "", "日本語のタイトル"}
	var out []patchwatch.Finding
	for i := range n {
		f := patchwatch.Finding{
			Host: fmt.Sprintf("vm%0*d", 1+i%7, i), Advisory: fmt.Sprintf("USN-%d-1", 7000+i%13), Title: titles[i%len(titles)],
			Urgency: patchwatch.Urgency(i % 4), Severity: patchwatch.Severity(i % 5), Status: patchwatch.StatusUpdate,
			Deadline: time.Date(2026, 12, 1+i%20, 0, 0, 0, 0, time.UTC), Overdue: i%3 == 0,
			UrgencyReasons: []string{"severity high", "in CISA KEV"},
			Packages:       []patchwatch.FindingPackage{{Name: "libssl3", Installed: "3.0.2-0ubuntu1.10", Fixed: "3.0.2-0ubuntu1.12", Source: "openssl"}},
			Command:        "sudo apt-get install --only-upgrade libssl3", URL: "https://ubuntu.com/security/notices/USN-7000-1",
		}
		switch i % 5 {
		case 1:
			f.Status, f.Subscription = patchwatch.StatusSubscription, "Ubuntu Pro (esm-apps)"
		case 2:
			f.Silenced = &patchwatch.Silence{ID: "s1", Reason: "accepted until the migration", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
		case 3:
			f.RebootHint, f.Notes = true, []string{"no source package information"}
		}
		out = append(out, f)
	}
	return out
}

// The streamed table equals tabwriter's, in memory and spooled to a file.
func TestFindingsTableAsTabwriter(t *testing.T) {
	for _, n := range []int{0, 1, 5, 300} {
		findings := tableFindings(n)
		want := tabwriterTable(findings)
		for _, inMemory := range []int{tableInMemory, 64, 1} {
			table := newFindingsTable(inMemory)
			defer table.close()
			for i := range findings {
				if err := table.add(&findings[i]); err != nil {
					t.Fatal(err)
				}
			}
			if spilled := table.details.file != nil; spilled != (inMemory < tableInMemory && n > 0) {
				t.Fatalf("%d findings, %d bytes in memory: details spilled to a file %t", n, inMemory, spilled)
			}
			var got bytes.Buffer
			if err := table.writeTo(&got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want {
				t.Fatalf("%d findings, %d bytes in memory: got\n%s\nwant\n%s", n, inMemory, got.String(), want)
			}
		}
	}
}

// A spool that cannot move to the disk says so and takes nothing more.
func TestSpoolWithoutTempDir(t *testing.T) {
	t.Setenv("TMPDIR", "/nonexistent/patchwatch")
	table := newFindingsTable(16)
	defer table.close()
	findings := tableFindings(3)
	err := table.add(&findings[0])
	if err == nil || !strings.Contains(err.Error(), "spool the listing") {
		t.Fatalf("add with no temporary directory: %v", err)
	}
	if err := table.writeTo(&bytes.Buffer{}); err == nil {
		t.Fatal("a failed spool was written out")
	}
}

// A cell may hold any byte: a tab or a newline in a host's name stays in
// its cell, and the rows after it keep theirs.
func TestFindingsTableCellWithTab(t *testing.T) {
	findings := tableFindings(2)
	findings[0].Host = "vm\t1\nx"
	table := newFindingsTable(1)
	defer table.close()
	for i := range findings {
		if err := table.add(&findings[i]); err != nil {
			t.Fatal(err)
		}
	}
	var got bytes.Buffer
	if err := table.writeTo(&got); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(got.String(), "\n")
	if !strings.HasPrefix(lines[1], "vm\t1") || !strings.HasPrefix(lines[2], "x  ") || !strings.HasPrefix(lines[3], findings[1].Host+" ") {
		t.Fatalf("rows:\n%s", strings.Join(lines[:4], "\n"))
	}
}
