package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"runtime"
	"syscall"
	"testing"

	"github.com/patchwatch/patchwatch/console/internal/fixture"
)

const benchHosts = 10_000

// BenchmarkPages10000Hosts answers the console's pages over the real
// handlers (the API's mux, sessions, the service's queries, templates) at
// 10,000 hosts over 500 owners (target: each page within 100 ms). It
// reports the page time and the peak heap in use.
func BenchmarkPages10000Hosts(b *testing.B) {
	w := fixture.New(b, fixture.Options{Hosts: benchHosts, Owners: 500})
	pages := []struct {
		name, token, path string
	}{
		{"owner-home", w.AliceToken, "/"},
		{"owner-host", w.AliceToken, "/hosts/web1"},
		{"admin-dashboard", w.Admin, "/"},
		{"admin-hosts", w.Admin, "/hosts"},
		{"admin-host", w.Admin, "/hosts/vm00042"},
		{"admin-findings-critical", w.Admin, "/findings?urgency=critical"},
		{"admin-advisory", w.Admin, "/advisories/USN-6188-1"},
		{"admin-owner", w.Admin, "/owners/owner0042@example.org"},
		{"admin-search-cve", w.Admin, "/search?q=CVE-2023-2650"},
	}
	for _, pg := range pages {
		b.Run(pg.name, func(b *testing.B) {
			client := benchClient(b, w, pg.token)
			var peak uint64
			var ms runtime.MemStats
			b.ResetTimer()
			cpuBefore := cpuSeconds()
			for b.Loop() {
				resp, err := client.Get(w.Server.URL + pg.path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d", pg.path, resp.StatusCode)
				}
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
			// The process's CPU time per page (server and client): steadier
			// than the wall time on a shared machine.
			b.ReportMetric((cpuSeconds()-cpuBefore)*1000/float64(b.N), "cpu-ms/page")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// benchClient is an HTTP client signed in with token.
func benchClient(b *testing.B, w *fixture.World, token string) *http.Client {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(w.Server.URL + "/login")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		b.Fatal("no csrf field on /login")
	}
	resp, err = client.PostForm(w.Server.URL+"/login", map[string][]string{"token": {token}, "csrf": {string(m[1])}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("sign-in: %d", resp.StatusCode)
	}
	return client
}
