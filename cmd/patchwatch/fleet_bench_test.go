package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/fleetgen"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
	"github.com/patchwatch/patchwatch/version"
)

// The fleet benchmarks measure what serve and the CLI run, at the fleet
// sizes of issue 18: the database is built once per benchmark through the
// real store and service code (advisories upserted, hosts bulk-loaded and
// evaluated by the full re-evaluation job), then each step runs once
// (-benchtime=1x) and reports its time and the process's peak RSS during
// it (VmHWM, reset before each step). Run one size at a time:
//
//	go test -run XXX -bench 'Fleet/hosts=10000' -benchtime=1x ./cmd/patchwatch

var benchNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// resetPeakRSS collects garbage and resets the process's high-water mark
// (false where /proc/self/clear_refs cannot be written).
func resetPeakRSS() bool {
	runtime.GC()
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSSMB returns the high-water mark in MB.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// step runs fn as a sub-benchmark of one iteration, reporting its peak
// RSS and the CPU time it took (the shared machine's wall times vary with
// its load; CPU seconds less so). The forced collection before each run
// (for a clean high-water mark) is outside both the timer and the CPU
// figure.
func step(b *testing.B, name string, fn func(b *testing.B)) {
	b.Run(name, func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			reset := resetPeakRSS()
			before := cpuSeconds()
			b.StartTimer()
			fn(b)
			b.StopTimer()
			b.ReportMetric(cpuSeconds()-before, "cpu-s")
			if reset {
				b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
			}
			b.StartTimer()
		}
	})
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// cliOn runs a CLI command with the flags that select its database
// (--db PATH, or --config FILE of a PostgreSQL store) and returns the
// bytes it printed.
func cliOn(b *testing.B, database []string, args ...string) int64 {
	b.Helper()
	out := &countingWriter{}
	env := &Env{Stdout: out, Stderr: io.Discard, Getenv: func(string) string { return "" }, Now: func() time.Time { return benchNow }}
	if err := Run(context.Background(), env, append(args, database...)); err != nil {
		if exit, ok := errors.AsType[*ExitError](err); !ok || exit.Code != ExitFindings {
			b.Fatalf("%v: %v", args, err)
		}
	}
	return out.n
}

// discardSender is a notify.Sender that sends nothing.
type discardSender struct{}

func (discardSender) Send(context.Context, patchwatch.Delivery) error { return nil }

func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) { benchFleet(b, n) })
	}
}

// loadFleet upserts the full history and bulk-loads hosts 0 to n-1, 500
// per transaction, through the real store and service code.
func loadFleet(b *testing.B, st cliStore, svc *service.Service, gen *fleetgen.Fleet, n int) {
	b.Helper()
	ctx := context.Background()
	for start := 0; start < len(gen.Advisories); start += 1000 {
		if _, err := st.UpsertAdvisories(ctx, gen.Advisories[start:min(start+1000, len(gen.Advisories))]); err != nil {
			b.Fatal(err)
		}
	}
	loadStart := time.Now()
	for start := 0; start < n; start += 500 {
		hosts := make([]patchwatch.Host, 0, 500)
		for i := start; i < min(start+500, n); i++ {
			hosts = append(hosts, gen.Host(i, benchNow))
		}
		if err := svc.ImportHosts(ctx, hosts); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "bulk load of %d hosts: %s\n", n, time.Since(loadStart).Round(time.Millisecond))
}

func benchFleet(b *testing.B, n int) {
	db := filepath.Join(b.TempDir(), "pw.db")
	st, err := bolt.Open(db, bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	fleetSteps(b, st, n, func() {
		if fi, err := os.Stat(db); err == nil {
			fmt.Fprintf(os.Stderr, "database: %d MB, %.1f KB per host\n", fi.Size()>>20, float64(fi.Size())/1024/float64(n+1000))
		}
	}, "--db", db)
}

// fleetSteps loads n hosts into st and runs the fleet benchmark's steps on
// it; once the in-process steps are done it closes st and calls closed
// (to report the database's size), then runs the CLI steps against the
// database the flags in database select. bbolt and PostgreSQL share it.
func fleetSteps(b *testing.B, st cliStore, n int, closed func(), database ...string) {
	ctx := context.Background()
	gen := fleetgen.New()
	clock := func() time.Time { return benchNow }
	svc := service.New(st, patchwatch.DefaultUrgencyRules(), clock)
	svc.SetLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	loadFleet(b, st, svc, gen, n)

	step(b, "full-evaluation", func(b *testing.B) {
		if err := svc.Reevaluate(ctx, "benchmark"); err != nil {
			b.Fatal(err)
		}
	})
	findings := 0
	if err := st.EachHostRecord(ctx, "", "", func(r *patchwatch.HostRecord) error { findings += len(r.Findings); return nil }); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "findings stored: %d\n", findings)
	// The notifier's first step after it, as serve's loop takes it once
	// the group window has passed: every owner's alert about the new high
	// and critical findings, grouped, rendered and queued; then a step of
	// the steady state, which serve takes every 30 s.
	nst, ok := st.(notify.Store)
	if !ok {
		b.Fatal("the store is not a notify.Store")
	}
	notifyAt := benchNow.Add(time.Hour)
	nt, err := notify.New(notify.Config{Reminders: map[patchwatch.Urgency]time.Duration{patchwatch.UrgencyCritical: 24 * time.Hour, patchwatch.UrgencyHigh: 72 * time.Hour}},
		nst, svc, map[string]notify.Sender{"email": discardSender{}}, nil, func() time.Time { return notifyAt })
	if err != nil {
		b.Fatal(err)
	}
	step(b, "notify-first-alerts", func(b *testing.B) {
		if err := nt.Step(ctx); err != nil {
			b.Fatal(err)
		}
		ds, err := nst.Deliveries(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(ds)), "deliveries")
	})
	notifyAt = notifyAt.Add(30 * time.Second)
	step(b, "notify-steady-step", func(b *testing.B) {
		if err := nt.Step(ctx); err != nil {
			b.Fatal(err)
		}
	})
	// A KEV update (CISA's catalog, ~1,400 CVEs, replaced whole), as poll
	// runs it: the hosts with findings of the CVEs it adds or changes are
	// re-evaluated (every host when it drops one), with serve's catalog
	// and tuple verdicts warm, writing only the hosts whose findings
	// changed.
	kevUpdate := func(b *testing.B, first int) {
		var entries []patchwatch.KEVEntry
		for i := first; i < len(gen.Advisories); i += 35 {
			entries = append(entries, patchwatch.KEVEntry{CVE: gen.Advisories[i].CVEs[0], DateAdded: "2026-11-20", DueDate: "2026-12-11"})
		}
		changed, dropped, err := svc.KEVChanges(ctx, entries)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.ReplaceKEV(ctx, entries, "kev", nil); err != nil {
			b.Fatal(err)
		}
		if dropped {
			err = svc.Reevaluate(ctx, "the KEV catalog changed")
		} else {
			_, err = svc.ReassessCVEs(ctx, changed)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(changed)), "cves-changed")
	}
	step(b, "kev-update-reevaluation", func(b *testing.B) { kevUpdate(b, 0) })
	// The next day's catalog drops all of those and lists others: every
	// host is re-evaluated, as after a change of the urgency rules.
	step(b, "full-reevaluation-kev-dropped", func(b *testing.B) { kevUpdate(b, 17) })
	step(b, "lower-bound", func(b *testing.B) {
		tuples := lowerBound(gen, n)
		b.ReportMetric(float64(tuples), "distinct-tuples")
		b.ReportMetric(float64(lowerBoundTime.Microseconds())/1000, "bound-ms")
	})
	// intake sends 1,000 reports from 32 concurrent callers through
	// Service.PutHost, the API's path after decoding: host(i) is the i-th.
	intake := func(b *testing.B, host func(i int) patchwatch.Host) {
		const reports = 1000
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 32 {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= reports {
						return
					}
					if _, err := svc.PutHost(ctx, host(i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(reports/time.Since(start).Seconds(), "reports/s")
	}
	step(b, "intake-32-clients", func(b *testing.B) {
		intake(b, func(i int) patchwatch.Host { return gen.Host(n+i, benchNow) })
	})
	// The steady state: enrolled hosts report again an hour later, their
	// inventories as before (most hours change no package).
	step(b, "re-report-32-clients", func(b *testing.B) {
		intake(b, func(i int) patchwatch.Host { return gen.Host(i*(n/1000), benchNow.Add(time.Hour)) })
	})
	step(b, "new-advisory", func(b *testing.B) {
		a := gen.NewAdvisory("USN-99999-1", benchNow)
		if _, err := st.UpsertAdvisories(ctx, []patchwatch.Advisory{a}); err != nil {
			b.Fatal(err)
		}
		hosts, err := svc.Rematch(ctx, []patchwatch.Advisory{a})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(hosts), "hosts-re-evaluated")
	})
	step(b, "metrics-counts", func(b *testing.B) {
		if _, err := svc.Counts(ctx); err != nil {
			b.Fatal(err)
		}
	})
	api := server.New(svc, st, server.Options{Clock: clock})
	tok, err := server.CreateToken(ctx, st, server.TokenRequest{Kind: patchwatch.TokenAdmin, ExpiresIn: "720h"}, benchNow)
	if err != nil {
		b.Fatal(err)
	}
	get := func(b *testing.B, path string) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		rec := httptest.NewRecorder()
		api.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
		b.ReportMetric(float64(rec.Body.Len()), "bytes")
	}
	step(b, "api-owner-findings", func(b *testing.B) { get(b, "/api/v1/findings?owner="+gen.Owner(7)) })
	step(b, "api-advisory", func(b *testing.B) { get(b, "/api/v1/advisories/USN-99999-1") })
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	closed()
	step(b, "cli-hosts-json", func(b *testing.B) { b.ReportMetric(float64(cliOn(b, database, "hosts", "--format", "json")), "bytes") })
	step(b, "cli-outstanding-json", func(b *testing.B) {
		b.ReportMetric(float64(cliOn(b, database, "outstanding", "--format", "json")), "bytes")
	})
	step(b, "cli-outstanding-owner", func(b *testing.B) {
		b.ReportMetric(float64(cliOn(b, database, "outstanding", "--owner", gen.Owner(7), "--format", "json")), "bytes")
	})
	step(b, "cli-digest-admin", func(b *testing.B) {
		b.ReportMetric(float64(cliOn(b, database, "digest", "--admin", "--dry-run")), "bytes")
	})
}

// lowerBound does, for every distinct (release, package, version) tuple of
// the fleet, one lookup in the fix table and one version comparison (with
// the parse of the installed version): the least any full evaluation can
// cost. It returns the number of tuples.
func lowerBound(gen *fleetgen.Fleet, n int) int {
	type fixed struct {
		deb version.Deb
		rpm version.RPM
	}
	fixes := map[string]map[string]fixed{}
	for _, a := range gen.Advisories {
		for _, f := range a.Fixes {
			if fixes[f.Release] == nil {
				fixes[f.Release] = map[string]fixed{}
			}
			var fx fixed
			if patchwatch.ReleaseFamily(f.Release) == patchwatch.FamilyRPM {
				fx.rpm, _ = version.ParseRPM(f.FixedVersion)
			} else {
				fx.deb, _ = version.ParseDeb(f.FixedVersion)
			}
			fixes[f.Release][f.Package] = fx
		}
	}
	type tuple struct{ release, name, version string }
	distinct := map[tuple]bool{}
	for i := range n {
		h := gen.Host(i, benchNow)
		for _, p := range h.Packages {
			name := p.SourceName
			if h.Family == patchwatch.FamilyRPM {
				name = p.Name
			}
			distinct[tuple{h.Release, name, p.Version}] = true
		}
	}
	exposed := 0
	start := time.Now()
	for t := range distinct {
		fx, ok := fixes[t.release][t.name]
		if !ok {
			continue
		}
		if patchwatch.ReleaseFamily(t.release) == patchwatch.FamilyRPM {
			if v, err := version.ParseRPM(t.version); err == nil && v.Compare(fx.rpm) < 0 {
				exposed++
			}
		} else if v, err := version.ParseDeb(t.version); err == nil && v.Compare(fx.deb) < 0 {
			exposed++
		}
	}
	lowerBoundTime = time.Since(start)
	return len(distinct)
}

// lowerBoundTime is the timed part of lowerBound (the tuple set is built
// outside it), logged for the ratio in docs/benchmarks.md.
var lowerBoundTime time.Duration

// BenchmarkMarginalHost adds new hosts (sequential reports of 1,500
// packages through Service.PutHost, each its own durable transaction) to
// fleets of 0, 1,000 and 10,000 evaluated hosts with the full history
// imported (issue 17: the cost of a new host must not grow with the fleet;
// target ratio ≤ 1.2 between 10,000 and 0).
func BenchmarkMarginalHost(b *testing.B) {
	ctx := context.Background()
	gen := fleetgen.New()
	for _, n := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("fleet=%d", n), func(b *testing.B) {
			st, err := bolt.Open(filepath.Join(b.TempDir(), "pw.db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			svc := service.New(st, patchwatch.DefaultUrgencyRules(), func() time.Time { return benchNow })
			loadFleet(b, st, svc, gen, n)
			if err := svc.Reevaluate(ctx, "benchmark"); err != nil {
				b.Fatal(err)
			}
			const added = 50
			hosts := make([]patchwatch.Host, added)
			for i := range hosts {
				hosts[i] = gen.Host(200000+i, benchNow) // not in any fleet: new everywhere
			}
			for b.Loop() {
				before := cpuSeconds()
				start := time.Now()
				for i := range hosts {
					if _, err := svc.PutHost(ctx, hosts[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds())/added, "ms/host")
				b.ReportMetric((cpuSeconds()-before)*1000/added, "cpu-ms/host")
			}
		})
	}
}
