package server_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// TestMetricsDocumented: docs/metrics.md lists exactly the patchwatch_*
// metrics the server registers.
func TestMetricsDocumented(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	api := server.New(service.New(st, patchwatch.DefaultUrgencyRules(), nil), st, server.Options{Registry: reg})
	// Vectors appear once they have a child.
	m := api.Metrics()
	m.FeedStatus(patchwatch.FeedStatus{Feed: "usn", LastSuccess: time.Now()}, nil)
	m.Fleet(service.FleetCounts{Open: map[patchwatch.Urgency]int{}})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "patchwatch_") {
			served = append(served, f.GetName())
		}
	}
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(patchwatch_[a-z_]+)`").FindAllSubmatch(doc, -1) {
		documented = append(documented, string(m[1]))
	}
	slices.Sort(served)
	slices.Sort(documented)
	if !slices.Equal(served, documented) {
		t.Errorf("served %v\ndocumented %v", served, documented)
	}
}
