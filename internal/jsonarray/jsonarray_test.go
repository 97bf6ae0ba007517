package jsonarray_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/patchwatch/patchwatch/internal/jsonarray"
)

type item struct {
	Name  string         `json:"name"`
	Tags  []string       `json:"tags"`
	Inner map[string]int `json:"inner,omitempty"`
	HTML  string         `json:"html,omitempty"`
}

// TestSameAsEncoder: streaming writes exactly what the Encoder writes for
// the whole slice.
func TestSameAsEncoder(t *testing.T) {
	tests := []struct {
		name  string
		items []item
	}{
		{"empty", []item{}},
		{"one", []item{{Name: "a", Tags: []string{}}}},
		{"nested", []item{{Name: "a", Tags: []string{"x", "y"}, Inner: map[string]int{"k": 1}}, {Name: "<b>&", HTML: "</script>"}}},
		{"batches", manyItems(3*256 + 17)},
		{"one batch", manyItems(256)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(tt.items); err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{0, 2, 4} {
				var got bytes.Buffer
				a := jsonarray.NewParallel(&got, workers)
				for _, it := range tt.items {
					if err := a.Add(it); err != nil {
						t.Fatal(err)
					}
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				if a.Len() != len(tt.items) {
					t.Fatalf("%d workers: Len %d, want %d", workers, a.Len(), len(tt.items))
				}
				if got.String() != want.String() {
					t.Fatalf("%d workers: got\n%s\nwant\n%s", workers, got.String(), want.String())
				}
			}
		})
	}
}

func manyItems(n int) []item {
	out := make([]item, n)
	for i := range out {
		out[i] = item{Name: fmt.Sprint("host", i), Tags: []string{fmt.Sprint(i % 7)}}
	}
	return out
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

// TestParallelWriteError: a failing output stops the array with its
// error, and Close ends the goroutines.
func TestParallelWriteError(t *testing.T) {
	a := jsonarray.NewParallel(&failingWriter{after: 1}, 2)
	var err error
	for _, it := range manyItems(10 * 256) {
		if err = a.Add(it); err != nil {
			break
		}
	}
	if cerr := a.Close(); cerr == nil || err != nil && err.Error() != "disk full" {
		t.Fatalf("Add: %v, Close: %v; want disk full", err, cerr)
	}
}

// FuzzIndent: the fast indenter writes what json.MarshalIndent writes,
// for any value json.Unmarshal can read back from the input.
func FuzzIndent(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{}],"b":"x\"]","c":[],"d":{"e":null}}`, `"plain"`, `[[],[{}],"{,:}"]`, `{"k":"\\","v":"\u003c"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		compact, err := json.Marshal(v)
		if err != nil {
			return
		}
		want, _ := json.MarshalIndent(v, "  ", "  ")
		if got := jsonarray.Indent(nil, compact); string(got) != string(want) {
			t.Fatalf("indent of %s:\n got %s\nwant %s", compact, got, want)
		}
	})
}

// TestAbort: an aborted array ends its goroutines and is left without its
// closing bracket, so a reader sees it incomplete.
func TestAbort(t *testing.T) {
	for _, workers := range []int{0, 2} {
		var got bytes.Buffer
		a := jsonarray.NewParallel(&got, workers)
		for _, it := range manyItems(300) {
			if err := a.Add(it); err != nil {
				t.Fatal(err)
			}
		}
		a.Abort()
		if bytes.HasSuffix(bytes.TrimSpace(got.Bytes()), []byte("]")) {
			t.Fatalf("%d workers: an aborted array was closed: ...%s", workers, got.Bytes()[max(0, got.Len()-40):])
		}
		if err := a.Add(item{}); err == nil {
			t.Fatalf("%d workers: Add after Abort succeeded", workers)
		}
	}
}
