package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// BenchmarkSyncBatchFirst is the writer's share of a first evaluation:
// 20,000 hosts of 10 findings each written into a database that holds
// none, in the batches of 512 hosts a full pass commits (the workers'
// matching is not in it).
func BenchmarkSyncBatchFirst(b *testing.B) {
	const hosts, perHost, batchSize = 20000, 10, 512
	ctx := context.Background()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	cves := make([]string, 24)
	for i := range cves {
		cves[i] = fmt.Sprintf("CVE-2026-%05d", 1000+i)
	}
	evaluation := func(i int) store.Evaluation {
		h := patchwatch.Host{Name: fmt.Sprintf("vm%06d.example.org", i), Owner: fmt.Sprintf("owner%03d@example.org", i%300), Release: "jammy", Family: patchwatch.FamilyDebian}
		findings := make([]patchwatch.Finding, perHost)
		for j := range findings {
			adv := fmt.Sprintf("USN-%d-1", 7000+(i+j*37)%400)
			findings[j] = patchwatch.Finding{Host: h.Name, Advisory: adv, Source: "usn", Title: "OpenSSL vulnerabilities", Severity: patchwatch.SeverityHigh,
				Urgency: patchwatch.UrgencyHigh, UrgencyReasons: []string{"severity high"}, Published: t0, CVEs: cves[:4+j*2], URL: "https://ubuntu.com/security/notices/" + adv,
				Status: patchwatch.StatusUpdate, Packages: []patchwatch.FindingPackage{{Name: "libssl3", Installed: "3.0.2-0ubuntu1.10", Fixed: "3.0.2-0ubuntu1.12", Source: "openssl"}},
				Command: "sudo apt-get install --only-upgrade libssl3"}
		}
		return store.Evaluation{Host: h, Findings: findings}
	}
	var batches [][]store.Evaluation
	for start := 0; start < hosts; start += batchSize {
		batch := make([]store.Evaluation, 0, batchSize)
		for i := start; i < min(start+batchSize, hosts); i++ {
			batch = append(batch, evaluation(i))
		}
		batches = append(batches, batch)
	}
	b.StopTimer()
	for range b.N {
		s, err := Open(filepath.Join(b.TempDir(), "pw.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range batches {
			for _, e := range batch {
				if err := s.PutHost(ctx, e.Host, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
		for _, batch := range batches {
			if err := s.SyncBatch(ctx, batch, t0); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(hosts*perHost), "ns/finding")
}
