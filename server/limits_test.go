package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/server"
)

// TestVulsMillionPackagesRefused: the body fits the byte limit, but the
// package limit of JSON reports holds for Vuls bodies too.
func TestVulsMillionPackagesRefused(t *testing.T) {
	e := newEnvWith(t, server.Options{MaxBodyBytes: 64 << 20})
	hostToken := e.enrollHost("vuls1", e.enroll)
	var body bytes.Buffer
	for i := range 1000000 {
		fmt.Fprintf(&body, "p%d,ii ,1.%d-1,p%d,1.%d-1\n", i, i, i, i)
	}
	hdr := map[string]string{"X-Vuls-OS-Family": "ubuntu", "X-Vuls-OS-Release": "20.04", "X-Vuls-Server-Name": "vuls1"}
	resp, data := e.do("POST", "/vuls", hostToken, "text/plain", body.Bytes(), hdr)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), "more than 50000 packages") {
		t.Fatalf("a million Vuls packages: %d %.300s", resp.StatusCode, data)
	}
	if _, err := e.st.Host(context.Background(), "vuls1"); err == nil {
		t.Fatal("the million-package host was stored")
	}
}

// gzipZeros is one gzip stream of zeros, small on the wire and huge
// unpacked, cut in parts that unpack to the given MiB each (every part but
// the last ends in a flush, so the stream can pause there).
func gzipZeros(mib ...int) [][]byte {
	var stream bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&stream, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	var parts [][]byte
	start := 0
	for i, n := range mib {
		for range n {
			zw.Write(zeros)
		}
		if i == len(mib)-1 {
			zw.Close()
		} else {
			zw.Flush()
		}
		parts = append(parts, stream.Bytes()[start:])
		start = stream.Len()
	}
	return parts
}

// heapPeak samples the heap until stop is called and returns its peak.
func heapPeak() (stop func() uint64) {
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var max uint64
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			max = Max(max, ms.HeapInuse)
			select {
			case <-done:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-peak }
}

// Max is max for the sampler (a name that does not shadow the builtin).
func Max(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// TestConcurrentGzipBombsGet503: sixteen bodies that each unpack past the
// body limit arrive at once; the byte budget lets a few be read (and
// refused 413 at the limit), the others are answered 503 with
// Retry-After, and the heap stays near the budget.
func TestConcurrentGzipBombsGet503(t *testing.T) {
	const budget = 16 << 20
	e := newEnvWith(t, server.Options{MaxBodyBytes: 4 << 20, MaxBodyBytesInFlight: budget, MaxBodiesInFlight: 64})
	hostToken := e.enrollHost("vm1", e.enroll)
	// Each bomb first sends 3 MiB unpacked, then waits for release before
	// the rest: all sixteen are in flight together, and at most four fit.
	bomb := gzipZeros(3, 64)
	head, rest := bomb[0], bomb[1]
	release := make(chan struct{})
	type result struct {
		status     int
		retryAfter string
	}
	results := make(chan result, 16)
	runtime.GC()
	stop := heapPeak()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			pr, pw := io.Pipe()
			go func() {
				pw.Write(head)
				<-release
				pw.Write(rest)
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/reports", pr)
			req.Header.Set("Authorization", "Bearer "+hostToken)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{status: -1}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, resp.Header.Get("Retry-After")}
		})
	}
	counts := map[int]int{}
	for got := 0; got < 16; got++ {
		r := <-results
		counts[r.status]++
		if r.status != http.StatusServiceUnavailable {
			continue
		}
		if r.retryAfter == "" {
			t.Error("503 without Retry-After")
		}
		if counts[r.status] == 11 {
			close(release) // the few that fit may go on to their limit
		}
	}
	wg.Wait()
	peak := stop()
	if counts[http.StatusServiceUnavailable] < 11 || counts[http.StatusServiceUnavailable]+counts[http.StatusRequestEntityTooLarge] != 16 {
		t.Fatalf("statuses %v: want at least 11 × 503 and the rest 413", counts)
	}
	t.Logf("16 concurrent gzip bombs, budget %d MiB: statuses %v, heap peak %.1f MiB", budget>>20, counts, float64(peak)/(1<<20))
	// The budget, plus the test's own bombs and a constant per request.
	if limit := uint64(budget + len(rest)*2 + 48<<20); peak > limit {
		t.Errorf("heap peaked at %d MiB, over %d MiB", peak>>20, limit>>20)
	}
}

// readSignal tells once that a request's body is being read.
type readSignal struct {
	io.ReadCloser
	once    *sync.Once
	reading chan struct{}
}

func (r readSignal) Read(p []byte) (int, error) {
	r.once.Do(func() { close(r.reading) })
	return r.ReadCloser.Read(p)
}

func TestBodiesInFlightCount(t *testing.T) {
	e := newEnvWith(t, server.Options{MaxBodiesInFlight: 1})
	hostToken := e.enrollHost("vm1", e.enroll)
	reading := make(chan struct{})
	var once sync.Once
	// The same API, with a hook that says when the first body is read.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-First") != "" {
			r.Body = readSignal{r.Body, &once, reading}
		}
		e.api.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	e.srv = srv
	pr, pw := io.Pipe()
	first := make(chan int)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/reports", pr)
		req.Header.Set("Authorization", "Bearer "+hostToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-First", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- -1
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	go pw.Write(report(t, "vm1")[:10])
	<-reading
	resp, data := e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second body while one is in flight: %d %s", resp.StatusCode, data)
	}
	go func() {
		pw.Write(report(t, "vm1")[10:])
		pw.Close()
	}()
	if got := <-first; got != http.StatusAccepted {
		t.Fatalf("first body: %d", got)
	}
	// The slot is free again.
	if resp, data := e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after the first: %d %s", resp.StatusCode, data)
	}
}

// slowRequest writes a request's headers and the first bytes of a body of
// declared length, then nothing more, and returns what the server answers
// before it closes the connection. A generous deadline keeps the test from
// hanging on a server that waits for the body.
func slowRequest(t *testing.T, addr, path, token string) (status int, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n", path)
	if token != "" {
		fmt.Fprintf(c, "Authorization: Bearer %s\r\n", token)
	}
	fmt.Fprintf(c, "\r\n{\"schema\":")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a slow body on %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	_, err = br.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return resp.StatusCode, false
	}
	return resp.StatusCode, err != nil
}

// TestSlowBodiesWithoutTokenAreCut: a body still arriving on a request
// without a valid token is not waited for.
func TestSlowBodiesWithoutTokenAreCut(t *testing.T) {
	e := newEnvWith(t, server.Options{UnauthenticatedTimeout: 200 * time.Millisecond})
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tt := range []struct{ path, token string }{
		{"/api/v1/reports", ""},
		{"/api/v1/reports", "pwt_h_tok-000000000000_forged"},
		{"/api/v1/enroll", e.owner}, // valid, but not allowed to enroll
		{"/no/such/route", ""},
	} {
		status, closed := slowRequest(t, addr, tt.path, tt.token)
		if status < 400 || !closed {
			t.Errorf("%s with %q: status %d, connection closed %v; want a 4xx and the connection cut", tt.path, tt.token, status, closed)
		}
	}
}

// TestGzipBombsAtDefaultLimits is the campaign's attack (sixteen gzip
// bombs at once, 823 MB before the limits) against the default limits:
// the budget counts every buffer a body was read into, so the heap stays
// at the 256 MiB budget plus what the collector has not yet taken of the
// refused bodies and a constant per request.
func TestGzipBombsAtDefaultLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("unpacks half a gigabyte")
	}
	e := newEnvWith(t, server.Options{MaxBodyBytes: 32 << 20})
	hostToken := e.enrollHost("vm1", e.enroll)
	bomb := gzipZeros(64)[0]
	runtime.GC()
	stop := heapPeak()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			resp, _ := e.do("POST", "/api/v1/reports", hostToken, "application/json", bomb, map[string]string{"Content-Encoding": "gzip"})
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	peak := stop()
	t.Logf("16 concurrent 64 MiB gzip bombs (%d KiB each on the wire), default limits: statuses %v, heap peak %.1f MiB", len(bomb)>>10, counts, float64(peak)/(1<<20))
	if counts[http.StatusServiceUnavailable]+counts[http.StatusRequestEntityTooLarge] != 16 {
		t.Errorf("statuses %v: want only 413 and 503", counts)
	}
	if limit := uint64(256<<20 + 160<<20); peak > limit {
		t.Errorf("heap peaked at %d MiB, over the 256 MiB budget plus 160 MiB", peak>>20)
	}
}
