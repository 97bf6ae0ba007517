package describe_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/internal/describe"
)

func TestContent(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"elf", "\x7fELF\x02\x01\x01\x00\x00\x00\x00", "binary content (starts 7f 45 4c 46 02 01 01 00)"},
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xfe", "binary content (starts 1f 8b 08 00 00 00 00 00)"},
		{"empty", "  \n", "an empty file"},
		{"object", `{"zeta": 1, "alpha": [2]}`, "a JSON object with the keys alpha, zeta"},
		{"array", `[1, 2]`, "a JSON array"},
		{"truncated", "{\n  \"id\": \"USN-1-1\",\n  \"affected\": [", "JSON that does not parse: byte 36 (line 3): the JSON ends early (a truncated file?)"},
		{"text", "hello world\r\nsecond line", `text starting "hello world"`},
		{"long text", strings.Repeat("x", 100), `text starting "` + strings.Repeat("x", 60) + `…"`},
		{"utf-8 text", "Größe: 1", `text starting "Größe: 1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe.Content([]byte(tt.data)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestJSONError(t *testing.T) {
	type record struct {
		ID       string `json:"id"`
		Affected []struct {
			Ranges []struct {
				Events []struct{ Fixed string } `json:"events"`
			} `json:"ranges"`
		} `json:"affected"`
		Score float64 `json:"score"`
	}
	tests := []struct {
		name, data, want string
	}{
		{"string for an array", `{"id": "X", "affected": "oops"}`, "byte 30 (line 1): field affected is a string, expected an array"},
		{"nested", "{\"affected\": [{\"ranges\": [{\"events\": {}}]}]}", "byte 38 (line 1): field affected.ranges.events is an object, expected an array"},
		{"number for a string", "{\n\"id\": 12}", "byte 10 (line 2): field id is a number, expected a string"},
		{"string for a number", `{"score": "high"}`, "byte 16 (line 1): field score is a string, expected a number"},
		{"syntax", `{"id": x}`, "byte 8 (line 1): invalid JSON: unexpected character 'x' looking for beginning of value"},
		{"truncated", `{"id": "X", "aff`, "byte 16 (line 1): the JSON ends early (a truncated file?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r record
			err := json.Unmarshal([]byte(tt.data), &r)
			if err == nil {
				t.Fatal("no error")
			}
			if got := describe.JSONError(err, []byte(tt.data)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzContent(f *testing.F) {
	for _, s := range []string{"\x7fELF", `{"a":1}`, "[", "text\n", "\xff\xfe", `{"a": "b"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := describe.Content(data)
		if strings.Contains(got, "\n") || len(got) > 400 {
			t.Errorf("not one short line: %q", got)
		}
		var v struct {
			A []int `json:"a"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			if msg := describe.JSONError(err, data); strings.Contains(msg, "\n") || strings.Contains(msg, "struct") {
				t.Errorf("JSONError: %q", msg)
			}
		}
	})
}
