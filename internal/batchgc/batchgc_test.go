package batchgc

import (
	"runtime/debug"
	"testing"
)

func TestCurrent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(150))
	if got := Current(); got != 150 {
		t.Fatalf("Current() = %d, want 150", got)
	}
	debug.SetGCPercent(-1)
	if got := Current(); got != -1 {
		t.Fatalf("with collection off Current() = %d, want -1", got)
	}
}

func TestBeginRaisesUntilTheLastJobEnds(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	first := begin(false)
	if got := Current(); got != Percent {
		t.Fatalf("during a batch GOGC = %d, want %d", got, Percent)
	}
	second := begin(false)
	first()
	first() // ending twice ends once
	if got := Current(); got != Percent {
		t.Fatalf("with a batch still running GOGC = %d, want %d", got, Percent)
	}
	second()
	if got := Current(); got != 100 {
		t.Fatalf("after the batches GOGC = %d, want 100 again", got)
	}
}

func TestBeginLeavesTheOperatorsChoice(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	begin(true)()
	if got := Current(); got != 50 {
		t.Fatalf("with GOGC set GOGC = %d, want 50", got)
	}
	// An operator may also have set it in code or turned collection off.
	for _, p := range []int{-1, 800} {
		debug.SetGCPercent(p)
		end := begin(false)
		if got := Current(); got != p {
			t.Fatalf("over %d a batch set GOGC = %d", p, got)
		}
		end()
		if got := Current(); got != p {
			t.Fatalf("over %d GOGC ended at %d", p, got)
		}
	}
}
