package bolt

import (
	"fmt"
	"testing"
	"unsafe"
)

// TestInterner: what it returns equals what it was given, a string met
// again is the copy made the first time, and a nil interner copies.
func TestInterner(t *testing.T) {
	in := newInterner()
	first := in.str([]byte("USN-7000-1"))
	again := in.str([]byte("USN-7000-1"))
	if first != "USN-7000-1" || unsafe.StringData(first) != unsafe.StringData(again) {
		t.Fatalf("USN-7000-1 not shared: %q %q", first, again)
	}
	// More strings than slots: every answer is still its own string.
	for i := range 3 * internSlots {
		want := fmt.Sprintf("DSA-%d-1", i)
		if got := in.str([]byte(want)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	var none *interner
	if got := none.str([]byte("a")); got != "a" || in.str(nil) != "" {
		t.Fatalf("nil interner: %q", got)
	}
}
