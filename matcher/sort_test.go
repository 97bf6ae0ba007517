package matcher

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/patchwatch/patchwatch"
)

// TestSortFindings: sorting by the order keys gives what a plain sort of
// the findings by Order.Compare gives, sorted input or not.
func TestSortFindings(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var fs []patchwatch.Finding
		seen := map[[2]string]bool{}
		for i := range rapid.IntRange(0, 40).Draw(t, "n") {
			f := patchwatch.Finding{
				Host:      rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "host"),
				Advisory:  rapid.SampledFrom([]string{"USN-1-1", "USN-2-1", "DSA-3-1", "RHSA-4", "RHSA-5"}).Draw(t, "advisory"),
				Urgency:   patchwatch.Urgency(rapid.IntRange(0, 4).Draw(t, "urgency")),
				Severity:  patchwatch.Severity(rapid.IntRange(0, 5).Draw(t, "severity")),
				Published: t0.Add(time.Duration(rapid.IntRange(0, 3).Draw(t, "day")) * 24 * time.Hour),
				Title:     string(rune('a' + i%26)),
			}
			if seen[[2]string{f.Host, f.Advisory}] {
				continue // a host has one finding per advisory
			}
			seen[[2]string{f.Host, f.Advisory}] = true
			fs = append(fs, f)
		}
		if rapid.Bool().Draw(t, "sorted first") {
			slices.SortFunc(fs, func(a, b patchwatch.Finding) int { return OrderOf(&a).Compare(OrderOf(&b)) })
		}
		want := slices.Clone(fs)
		slices.SortFunc(want, func(a, b patchwatch.Finding) int { return OrderOf(&a).Compare(OrderOf(&b)) })
		SortFindings(fs)
		if !slices.EqualFunc(fs, want, func(a, b patchwatch.Finding) bool {
			return a.Host == b.Host && a.Advisory == b.Advisory && a.Title == b.Title
		}) {
			t.Fatalf("sorted\n%v\nwant\n%v", fs, want)
		}
	})
}
