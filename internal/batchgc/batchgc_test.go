package batchgc

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestBeginRaisesUntilTheLastJobEnds(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	first := begin(false)
	if got := gcPercent(); got != Percent {
		t.Fatalf("during a batch GOGC = %d, want %d", got, Percent)
	}
	second := begin(false)
	first()
	first() // ending twice ends once
	if got := gcPercent(); got != Percent {
		t.Fatalf("with a batch still running GOGC = %d, want %d", got, Percent)
	}
	second()
	if got := gcPercent(); got != 100 {
		t.Fatalf("after the batches GOGC = %d, want 100 again", got)
	}
}

func TestBeginLeavesTheOperatorsChoice(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	begin(true)()
	if got := gcPercent(); got != 50 {
		t.Fatalf("with GOGC set GOGC = %d, want 50", got)
	}
	// An operator may also have set it in code or turned collection off.
	for _, p := range []int{-1, 800} {
		debug.SetGCPercent(p)
		end := begin(false)
		if got := gcPercent(); got != p {
			t.Fatalf("over %d a batch set GOGC = %d", p, got)
		}
		end()
		if got := gcPercent(); got != p {
			t.Fatalf("over %d GOGC ended at %d", p, got)
		}
	}
}
