package jsonarray_test

import (
	"bytes"
	"encoding/json"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(tt.items); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			a := jsonarray.New(&got)
			for _, it := range tt.items {
				if err := a.Add(it); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("got\n%s\nwant\n%s", got.String(), want.String())
			}
		})
	}
}
