package feeds

import (
	"strconv"
	"testing"
)

// FuzzContentRangeStart: a server's Content-Range header never yields a
// negative or misread resume position.
func FuzzContentRangeStart(f *testing.F) {
	for _, s := range []string{"bytes 100-199/200", "bytes 0-0/1", "bytes */200", "bytes -5-9/10", "items 1-2/3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		n, ok := contentRangeStart(h)
		if !ok {
			return
		}
		if n < 0 {
			t.Fatalf("%q: start %d", h, n)
		}
		if want := "bytes " + strconv.FormatInt(n, 10) + "-"; len(h) < len(want) {
			t.Fatalf("%q: start %d from a header too short for it", h, n)
		}
	})
}
