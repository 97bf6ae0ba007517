// Package batchgc lets a long batch job trade memory for CPU: while one
// runs, the garbage collector lets the heap grow to Percent above what is
// live instead of Go's default 100.
//
// A fleet's first evaluation allocates some 4 GB at 100,000 hosts over a
// live heap of ~300 MB, so under the default the collector runs a dozen
// times; at Percent it runs a few times, which saved a tenth to a third of
// the pass's CPU, for ~1 GB more peak memory.
//
// The collector's target is the process's, so jobs that overlap share
// one raise, undone when the last ends. An operator's GOGC is left as it
// is, and a memory limit (GOMEMLIMIT) still makes the collector run as
// the heap nears it.
package batchgc

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Percent is the collector's target (as GOGC) while a batch runs.
const Percent = 400

// raised is the one raise in force: the collector's target belongs to
// the process, so its bookkeeping does too.
var raised struct {
	sync.Mutex
	jobs  int
	saved int // the target the raise replaced, while moved
	moved bool
}

// Begin raises the collector's target for a batch and returns the func
// that ends it. It changes nothing when GOGC is set in the environment
// or the target in force is already off or higher.
func Begin() (end func()) {
	return begin(os.Getenv("GOGC") != "")
}

func begin(operatorChose bool) func() {
	raised.Lock()
	defer raised.Unlock()
	raised.jobs++
	if raised.jobs == 1 && !operatorChose {
		if old := Current(); old >= 0 && old < Percent {
			debug.SetGCPercent(Percent)
			raised.saved, raised.moved = old, true
		}
	}
	var once sync.Once
	return func() { once.Do(end) }
}

func end() {
	raised.Lock()
	defer raised.Unlock()
	raised.jobs--
	if raised.jobs == 0 && raised.moved {
		debug.SetGCPercent(raised.saved)
		raised.moved = false
	}
}

// Current returns the collector's target in force (as GOGC; -1 when
// collection is off), without changing it.
func Current() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(int64(s[0].Value.Uint64()))
}
