// Package memwatch measures the peak memory of a piece of work, for tests
// and benchmarks that prove a memory bound.
package memwatch

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Peak is what Measure saw.
type Peak struct {
	// HeapInuse is the largest heap in use sampled while the work ran,
	// less the heap in use before it started.
	HeapInuse uint64
	// TotalAlloc is what the work allocated in all (freed or not).
	TotalAlloc uint64
	// RSS is the process's peak resident set (VmHWM) at the end; it
	// includes whatever ran before in the same process.
	RSS uint64
}

// Measure runs work while sampling runtime.MemStats every few
// milliseconds, and returns the peak.
func Measure(work func()) Peak {
	// Reset the kernel's peak-RSS mark (Linux 4.0+), so RSS is this work's.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		peak = max(peak, m.HeapInuse)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	work()
	sample()
	close(done)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	p := Peak{TotalAlloc: after.TotalAlloc - before.TotalAlloc, RSS: peakRSS()}
	if peak > before.HeapInuse {
		p.HeapInuse = peak - before.HeapInuse
	}
	return p
}

// peakRSS reads VmHWM from /proc/self/status; 0 where there is none.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// MiB formats a byte count for test logs.
func MiB(n uint64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }
