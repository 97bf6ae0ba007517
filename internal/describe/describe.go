// Package describe turns what a parser met into words for a one-line
// error: what the content looks like (binary, JSON, text) and where a JSON
// document went wrong, by byte offset and line, with what was expected
// instead of Go's type names.
package describe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// Content says in a few words what data looks like: binary content by its
// first bytes in hex, a JSON document by its top-level keys, text by its
// first line (at most 60 characters, quoted).
func Content(data []byte) string {
	head := data[:min(len(data), 512)]
	if IsBinary(head) {
		return fmt.Sprintf("binary content (starts % x)", head[:min(len(head), 8)])
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return "an empty file"
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		var probe any
		err := json.Unmarshal(trimmed, &probe)
		if err != nil {
			return "JSON that does not parse: " + JSONError(err, data)
		}
		if obj, ok := probe.(map[string]any); ok {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if len(keys) > 6 {
				keys = append(keys[:6], "…")
			}
			return "a JSON object with the keys " + strings.Join(keys, ", ")
		}
		return "a JSON array"
	}
	line, _, _ := bytes.Cut(trimmed, []byte("\n"))
	return "text starting " + Quote(string(bytes.TrimRight(line, "\r")), 60)
}

// IsBinary reports whether data (its first bytes) is not text: a NUL, or
// bytes that are not UTF-8 (a cut in the last rune does not count).
func IsBinary(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return true
	}
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			return len(data) >= utf8.UTFMax
		}
		data = data[size:]
	}
	return false
}

// Quote quotes s cut to n runes, marking the cut.
func Quote(s string, n int) string {
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// JSONError rewrites a JSON decoding error of data in one line: where
// (byte offset and line) and what was expected. Other errors keep their
// text.
func JSONError(err error, data []byte) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the document"
		} else {
			field = "field " + field
		}
		return fmt.Sprintf("%s: %s is %s, expected %s", Position(data, typ.Offset), field, article(typ.Value), kindOf(typ.Type))
	case errors.As(err, &syntax):
		msg := strings.TrimPrefix(syntax.Error(), "invalid character ")
		if syntax.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))) || strings.Contains(syntax.Error(), "unexpected end") {
			return fmt.Sprintf("%s: the JSON ends early (a truncated file?)", Position(data, int64(len(data))))
		}
		return fmt.Sprintf("%s: invalid JSON: unexpected character %s", Position(data, syntax.Offset), msg)
	}
	return err.Error()
}

// Position renders a byte offset of data with its line.
func Position(data []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(data)))
	line := bytes.Count(data[:offset], []byte("\n")) + 1
	return fmt.Sprintf("byte %d (line %d)", offset, line)
}

// kindOf names a Go type as the JSON value it decodes.
func kindOf(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		if t.String() == "time.Time" {
			return "a time string"
		}
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

// article puts "a"/"an" before json's value word (string, number, object,
// array, bool, "number 1.5").
func article(v string) string {
	switch {
	case v == "":
		return "a value of another kind"
	case strings.HasPrefix(v, "number"):
		return "a " + v
	case v == "object" || v == "array":
		return "an " + v
	case v == "bool":
		return "true or false"
	}
	return "a " + v
}
