package matcher_test

import (
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/fleetgen"
	"github.com/patchwatch/patchwatch/matcher"
)

// BenchmarkRematchOneHost re-matches one host report of 1,500 packages
// against the full history (target: under 5 ms), as the intake does for
// each report (the service builds the index of the advisories naming the
// host's packages; here it is the whole history's).
func BenchmarkRematchOneHost(b *testing.B) {
	f := fleetgen.New()
	ix := matcher.NewIndex(f.Advisories)
	now := time.Now()
	hosts := []patchwatch.Host{f.Host(1, now), f.Host(5, now), f.Host(6, now)}
	b.ReportAllocs()
	findings := 0
	i := 0
	for b.Loop() {
		findings = len(ix.Match(&hosts[i%3]))
		i++
	}
	b.ReportMetric(float64(findings), "findings")
}
