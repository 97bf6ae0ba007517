package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

var (
	propReleases = []string{"ubuntu:22.04", "debian:12", "rhel:9", "almalinux:9"}
	propDeb      = []string{"1.0-1", "1.0-2", "1.0-2+deb12u1", "1.1~rc1-1", "1:0.9-1", "2.0-1ubuntu0.1"}
	propRPM      = []string{"0:1.0-1.el9", "0:1.0-2.el9", "0:1.0-2.el9_2.1", "1:0.9-1.el9", "0:1.0-10.el9"}
)

func propVersions(release string) []string {
	if patchwatch.ReleaseFamily(release) == patchwatch.FamilyRPM {
		return propRPM
	}
	return propDeb
}

func drawAdvisory(t *rapid.T, id string, modified time.Time) patchwatch.Advisory {
	a := patchwatch.Advisory{ID: id, Source: patchwatch.SourceUSN, Title: "t " + id, Published: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Modified: modified, Severity: patchwatch.Severity(rapid.IntRange(0, 5).Draw(t, "severity")), CVEs: []string{"CVE-2026-" + id}}
	for j := range rapid.IntRange(0, 3).Draw(t, "fixes") {
		release := rapid.SampledFrom(propReleases[:3]).Draw(t, "release")
		if rapid.IntRange(0, 9).Draw(t, "own") == 0 {
			release = "almalinux:9" // the rebuild's own advisories switch it off Red Hat's
		}
		kind := patchwatch.KindSource
		if patchwatch.ReleaseFamily(release) == patchwatch.FamilyRPM || rapid.Bool().Draw(t, "binary") {
			kind = patchwatch.KindBinary
		}
		fixed := rapid.SampledFrom(append([]string{""}, propVersions(release)...)).Draw(t, "fixed")
		a.Fixes = append(a.Fixes, patchwatch.Fix{Release: release, Package: fmt.Sprintf("p%d", rapid.IntRange(0, 4).Draw(t, fmt.Sprint("fixpkg", j))),
			Kind: kind, FixedVersion: fixed})
	}
	if rapid.IntRange(0, 3).Draw(t, "kernelfix") == 0 {
		a.Fixes = append(a.Fixes, patchwatch.Fix{Release: "debian:12", Package: "linux", Kind: patchwatch.KindSource,
			FixedVersion: rapid.SampledFrom(propDeb[:3]).Draw(t, "kernelfixed")})
	}
	return a
}

func drawHost(t *rapid.T, name string, at time.Time) patchwatch.Host {
	release := rapid.SampledFrom(propReleases).Draw(t, "hostrelease")
	h := patchwatch.Host{Name: name, Owner: rapid.SampledFrom([]string{"", "ann@example.org", "Bob@example.org"}).Draw(t, "owner"),
		Release: release, Family: patchwatch.ReleaseFamily(release), SourceInfo: true, EpochInfo: true, ModuleInfo: true, ReportedAt: at}
	seen := map[string]bool{}
	for j := range rapid.IntRange(0, 6).Draw(t, "pkgs") {
		name := fmt.Sprintf("p%d", rapid.IntRange(0, 4).Draw(t, fmt.Sprint("bin", j)))
		if seen[name] {
			continue
		}
		seen[name] = true
		v := rapid.SampledFrom(propVersions(release)).Draw(t, "version")
		h.Packages = append(h.Packages, patchwatch.Package{Name: name, Version: v, SourceName: fmt.Sprintf("p%d", rapid.IntRange(0, 4).Draw(t, fmt.Sprint("src", j))), SourceVersion: v})
	}
	if rapid.IntRange(0, 4).Draw(t, "binary-only") == 0 {
		// An inventory without source fields, matched through the binary
		// map other hosts taught.
		for j := range h.Packages {
			h.Packages[j].SourceName, h.Packages[j].SourceVersion = "", ""
		}
		h.SourceInfo = false
	}
	if release == "debian:12" && rapid.Bool().Draw(t, "kernel") {
		// The same kernel tuple is running on some hosts and installed
		// beside a newer one on others: its verdict is the host's.
		v := rapid.SampledFrom(propDeb[:3]).Draw(t, "kernelversion")
		h.Packages = append(h.Packages, patchwatch.Package{Name: "linux-image-6.1.0-1-amd64", Version: v, SourceName: "linux", SourceVersion: v})
		if rapid.Bool().Draw(t, "newerkernel") {
			h.Packages = append(h.Packages, patchwatch.Package{Name: "linux-image-6.1.0-2-amd64", Version: "2.0-1", SourceName: "linux", SourceVersion: "2.0-1"})
		}
		h.KernelRelease = fmt.Sprintf("6.1.0-%d-amd64", rapid.IntRange(1, 2).Draw(t, "running"))
	}
	return h
}

// bruteForce matches every stored host against one index of every stored
// advisory, as no query path does, and returns the findings by host.
func bruteForce(t *rapid.T, ctx context.Context, s *bolt.Store, now time.Time) map[string][]patchwatch.Finding {
	var advisories []patchwatch.Advisory
	if err := s.EachAdvisory(ctx, func(a patchwatch.Advisory) error { advisories = append(advisories, a); return nil }); err != nil {
		t.Fatal(err)
	}
	ix := matcher.NewIndex(advisories)
	var cves []string
	for _, a := range advisories {
		cves = append(cves, a.CVEs...)
	}
	kev, err := s.KEV(ctx, cves)
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := s.HostsAfter(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]patchwatch.Finding{}
	for i := range hosts {
		hix := ix
		if binaries := matcher.BinaryOnlyNames(&hosts[i]); len(binaries) > 0 {
			// What the binary map knows now, as a report would be matched.
			hix = matcher.NewIndex(advisories)
			for _, release := range matcher.HostReleases(&hosts[i]) {
				tracking, _, err := s.BinarySources(ctx, release, binaries)
				if err != nil {
					t.Fatal(err)
				}
				hix.AddBinarySources(release, tracking)
			}
		}
		fs := hix.Match(&hosts[i])
		matcher.Enrich(&hosts[i], fs, matcher.Context{KEV: kev, Rules: patchwatch.DefaultUrgencyRules(), Now: now})
		out[hosts[i].Name] = fs
	}
	return out
}

// comparable drops what only the read side adds.
func comparable(fs []patchwatch.Finding) string {
	var lines []string
	for _, f := range fs {
		f.FirstSeen, f.Deadline, f.Overdue, f.Silenced = time.Time{}, time.Time{}, false, nil
		data, _ := json.Marshal(f)
		lines = append(lines, string(data))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// listingOrder is the sequence of a listing's findings, one line each.
func listingOrder(fs []patchwatch.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s %s %s\n", f.Urgency, f.Severity, f.Host, f.Advisory)
	}
	return b.String()
}

// TestStoredFindingsEqualFreshMatch keeps proving, for random fleets and
// random advisory changes, host reports, removals and full passes, that
// the stored findings every query reads equal a fresh brute-force match.
func TestStoredFindingsEqualFreshMatch(t *testing.T) {
	dir := t.TempDir()
	runs := 0
	rapid.Check(t, func(t *rapid.T) {
		runs++
		ctx := context.Background()
		s, err := bolt.Open(filepath.Join(dir, fmt.Sprintf("p%d.db", runs)), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		var storage service.Storage = s
		if rapid.Bool().Draw(t, "plain storage") {
			// Only the contract: no advisory generations (no catalog), no
			// feed statuses, no reused pages, as a store may offer.
			storage = contractOnly{s}
		}
		svc := service.New(storage, patchwatch.DefaultUrgencyRules(), func() time.Time { return now })
		// Chunks of a host or a few: a fleet job's pages, queued writes
		// and writes committed together all come into play.
		service.SetChunk(svc, rapid.IntRange(1, 3).Draw(t, "chunk"))
		var initial []patchwatch.Advisory
		for i := range rapid.IntRange(0, 5).Draw(t, "advisories") {
			initial = append(initial, drawAdvisory(t, fmt.Sprintf("A%d", i), now))
		}
		if _, err := s.UpsertAdvisories(ctx, initial); err != nil {
			t.Fatal(err)
		}
		if rapid.Bool().Draw(t, "early pass") {
			// A full pass leaves the service its catalog of every advisory
			// with the tuple verdicts, which the reports below then use
			// until an advisory changes.
			if err := svc.Reevaluate(ctx, "test"); err != nil {
				t.Fatal(err)
			}
		}
		if rapid.Bool().Draw(t, "bulk load") {
			// Loaded in bulk into an empty database, then a report while
			// the first evaluation is pending (the advisory index is
			// deferred until it ends), then the evaluation.
			var hosts []patchwatch.Host
			for i := range rapid.IntRange(1, 5).Draw(t, "hosts") {
				hosts = append(hosts, drawHost(t, fmt.Sprintf("h%d", i), now))
			}
			if err := svc.ImportHosts(ctx, hosts); err != nil {
				t.Fatal(err)
			}
			if rapid.Bool().Draw(t, "report while pending") {
				if _, err := svc.PutHost(ctx, drawHost(t, "h0", now)); err != nil {
					t.Fatal(err)
				}
				checkAdvisoryHosts(t, ctx, s, map[string][]patchwatch.Finding{"h0": mustFindings(t, ctx, svc, "h0")}, -1)
			}
			if err := svc.Reevaluate(ctx, "hosts were loaded in bulk"); err != nil {
				t.Fatal(err)
			}
		} else {
			for i := range rapid.IntRange(1, 5).Draw(t, "hosts") {
				if _, err := svc.PutHost(ctx, drawHost(t, fmt.Sprintf("h%d", i), now)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for step := range rapid.IntRange(1, 6).Draw(t, "steps") {
			now = now.Add(time.Hour)
			switch rapid.IntRange(0, 6).Draw(t, "action") {
			case 6: // a KEV update, handled as poll does: only the hosts it can change
				var entries []patchwatch.KEVEntry
				for i := range 8 {
					if rapid.Bool().Draw(t, fmt.Sprint("kev", i)) {
						entries = append(entries, patchwatch.KEVEntry{CVE: fmt.Sprintf("CVE-2026-A%d", i),
							DateAdded: rapid.SampledFrom([]string{"2026-05-01", "2026-06-01"}).Draw(t, "added"), DueDate: "2026-06-21"})
					}
				}
				changed, dropped, err := svc.KEVChanges(ctx, entries)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.ReplaceKEV(ctx, entries, "kev", nil); err != nil {
					t.Fatal(err)
				}
				if dropped {
					err = svc.Reevaluate(ctx, "the KEV catalog changed")
				} else {
					_, err = svc.ReassessCVEs(ctx, changed)
				}
				if err != nil {
					t.Fatal(err)
				}
			case 5: // a withdrawal, re-matched as poll does (a stub without fixes)
				id := fmt.Sprintf("A%d", rapid.IntRange(0, 7).Draw(t, "withdrawn"))
				removed, err := s.WithdrawAdvisories(ctx, "", []store.Withdrawal{{ID: id}}, nil, now)
				if err != nil {
					t.Fatal(err)
				}
				var stubs []patchwatch.Advisory
				for _, a := range removed {
					stubs = append(stubs, patchwatch.Advisory{ID: a.ID, Source: a.Source})
				}
				if _, err := svc.Rematch(ctx, stubs); err != nil {
					t.Fatal(err)
				}
			case 0, 1: // a new or modified advisory, then the incremental path
				a := drawAdvisory(t, fmt.Sprintf("A%d", rapid.IntRange(0, 7).Draw(t, "id")), now)
				if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{a}); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Rematch(ctx, []patchwatch.Advisory{a}); err != nil {
					t.Fatal(err)
				}
			case 2: // a host reports (new or changed inventory)
				if _, err := svc.PutHost(ctx, drawHost(t, fmt.Sprintf("h%d", rapid.IntRange(0, 6).Draw(t, "host")), now)); err != nil {
					t.Fatal(err)
				}
			case 3:
				if _, err := s.RemoveHost(ctx, fmt.Sprintf("h%d", rapid.IntRange(0, 6).Draw(t, "gone")), now); err != nil && !errorsIsNotFound(err) {
					t.Fatal(err)
				}
			case 4:
				if err := svc.Reevaluate(ctx, "test"); err != nil {
					t.Fatal(err)
				}
			}
			want := bruteForce(t, ctx, s, now)
			total := 0
			for host, fs := range want {
				got, err := svc.OutstandingAll(ctx, service.Filter{Host: host, IncludeSilenced: true})
				if err != nil {
					t.Fatal(err)
				}
				if g, w := comparable(got), comparable(fs); g != w {
					t.Fatalf("step %d, host %s: stored findings\n%s\nfresh match\n%s", step, host, g, w)
				}
				// The open finding records are the findings, each at its
				// urgency and status (what the notifier's events follow).
				records, err := s.FindingRecords(ctx, host)
				if err != nil {
					t.Fatal(err)
				}
				open := map[string]patchwatch.FindingRecord{}
				for _, r := range records {
					if r.Open() {
						open[r.Advisory] = r
					}
				}
				if len(open) != len(fs) {
					t.Fatalf("step %d, host %s: %d open records for %d findings", step, host, len(open), len(fs))
				}
				for _, f := range fs {
					if r, ok := open[f.Advisory]; !ok || r.Urgency != f.Urgency || r.Status != f.Status {
						t.Fatalf("step %d, host %s: finding %s (%s, %s) has record %+v", step, host, f.Advisory, f.Urgency, f.Status, r)
					}
				}
				total += len(fs)
			}
			checkAdvisoryHosts(t, ctx, s, want, step)
			all, err := svc.OutstandingAll(ctx, service.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != total {
				t.Fatalf("step %d: fleet query lists %d findings, fresh match %d", step, len(all), total)
			}
			// The fleet's listing is in SortFindings' order of the fresh
			// match, most pressing first.
			var fresh []patchwatch.Finding
			for _, fs := range want {
				fresh = append(fresh, fs...)
			}
			matcher.SortFindings(fresh)
			listed, err := svc.OutstandingAll(ctx, service.Filter{IncludeSilenced: true})
			if err != nil {
				t.Fatal(err)
			}
			if g, w := listingOrder(listed), listingOrder(fresh); g != w {
				t.Fatalf("step %d: the fleet is listed in the order\n%s\nthe fresh match sorts as\n%s", step, g, w)
			}
			// Host records count the whole inventory, even when a pass
			// read only the packages that could change a finding.
			if err := s.EachHostRecord(ctx, "", "", func(r *patchwatch.HostRecord) error {
				h, err := s.Host(ctx, r.Name)
				if err != nil {
					return err
				}
				if r.Packages != len(h.Packages) || r.SourcesKnown == binaryOnly(&h) {
					t.Fatalf("step %d, host %s: record counts %d packages (sources known %t), the host has %d", step, r.Name, r.Packages, r.SourcesKnown, len(h.Packages))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			// The high and critical listings (through the urgency index)
			// are the fleet's, filtered.
			for _, floor := range []patchwatch.Urgency{patchwatch.UrgencyHigh, patchwatch.UrgencyCritical} {
				got, err := svc.OutstandingAll(ctx, service.Filter{MinUrgency: floor})
				if err != nil {
					t.Fatal(err)
				}
				want := slices.DeleteFunc(slices.Clone(all), func(f patchwatch.Finding) bool { return f.Urgency < floor })
				if g, w := comparable(got), comparable(want); g != w {
					t.Fatalf("step %d, urgency %s and up:\n%s\nfrom the fleet's listing\n%s", step, floor, g, w)
				}
			}
		}
	})
}

// checkAdvisoryHosts holds the hosts the store lists for each advisory (the
// advisory index) to those with an open finding of it in fleet, a host's
// findings by name: of the advisories A0 to A7, those with none list no
// host that fleet holds.
func checkAdvisoryHosts(t *rapid.T, ctx context.Context, s *bolt.Store, fleet map[string][]patchwatch.Finding, step int) {
	want := map[string][]string{}
	for host, fs := range fleet {
		for _, f := range fs {
			want[f.Advisory] = append(want[f.Advisory], host)
		}
	}
	for i := range 8 {
		id := fmt.Sprintf("A%d", i)
		got, err := s.HostsWithAdvisories(ctx, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		got = slices.DeleteFunc(got, func(h string) bool { _, ok := fleet[h]; return !ok })
		slices.Sort(want[id])
		if !slices.Equal(got, want[id]) {
			t.Fatalf("step %d: hosts with %s: %v, want %v", step, id, got, want[id])
		}
	}
}

func mustFindings(t *rapid.T, ctx context.Context, svc *service.Service, host string) []patchwatch.Finding {
	fs, err := svc.OutstandingAll(ctx, service.Filter{Host: host, IncludeSilenced: true})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// contractOnly hides every method of its store beyond the contract.
type contractOnly struct{ service.Storage }

func binaryOnly(h *patchwatch.Host) bool {
	return slices.ContainsFunc(h.Packages, func(p patchwatch.Package) bool { return p.SourceName == "" })
}

func errorsIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
