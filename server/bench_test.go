package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// BenchmarkReports1500Packages posts reports of 1,500 packages from 32
// concurrent clients over loopback, each committed durably before its 202
// (target: at least 500 reports/s on 2 cores). It reports reports/s and
// the p99 latency.
func BenchmarkReports1500Packages(b *testing.B) {
	st, err := bolt.Open(filepath.Join(b.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchReports(b, st)
}

// benchStore is a database the intake benchmark runs on.
type benchStore interface {
	service.Storage
	server.Tokens
}

func benchReports(b *testing.B, st benchStore) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := service.New(st, patchwatch.DefaultUrgencyRules(), clock)
	api := server.New(svc, st, server.Options{Clock: clock, ReportInterval: time.Nanosecond, ReportBurst: 1 << 30})
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	const clients = 32
	tokens := make([]string, clients)
	bodies := make([][]byte, clients)
	for i := range clients {
		secret, tok, _ := server.NewToken(patchwatch.TokenHost, now)
		tok.Host, tok.Owner = fmt.Sprintf("vm%02d", i), "ops@example.org"
		st.PutToken(context.Background(), server.HashToken(secret), tok)
		tokens[i] = secret
		rep := inventory.Report{Schema: inventory.ReportSchema, Host: inventory.ReportHost{Hostname: tok.Host}, Format: "deb",
			OSRelease: inventory.ReportOSRelease{ID: "ubuntu", VersionID: "22.04"}}
		for j := range 1500 {
			v := fmt.Sprintf("1.%d-%dubuntu0.%d", j%17, j%5, i%3)
			rep.Packages = append(rep.Packages, inventory.ReportPackage{Name: fmt.Sprintf("pkg%d", j), Version: v, Arch: "amd64", SourceName: fmt.Sprintf("src%d", j/2), SourceVersion: v})
		}
		bodies[i], _ = json.Marshal(rep)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var mu sync.Mutex
	var latencies []time.Duration
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan int)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/reports", bytes.NewReader(bodies[c]))
				req.Header.Set("Authorization", "Bearer "+tokens[c])
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("status %d", resp.StatusCode)
				}
				mu.Lock()
				latencies = append(latencies, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "reports/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
