// Package jsonarray writes a JSON array one element at a time, byte for
// byte as encoding/json's Encoder with SetIndent("", "  ") writes the
// whole slice, so a listing streams without changing its output.
package jsonarray

import (
	"encoding/json"
	"io"
)

// Writer streams one JSON array.
type Writer struct {
	w   io.Writer
	n   int
	err error
}

// New starts an array on w; nothing is written until Add or Close.
func New(w io.Writer) *Writer { return &Writer{w: w} }

// Add writes one element.
func (a *Writer) Add(v any) error {
	if a.err != nil {
		return a.err
	}
	data, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		a.err = err
		return err
	}
	sep := ",\n  "
	if a.n == 0 {
		sep = "[\n  "
	}
	a.n++
	if _, a.err = io.WriteString(a.w, sep); a.err == nil {
		_, a.err = a.w.Write(data)
	}
	return a.err
}

// Len returns the number of elements written.
func (a *Writer) Len() int { return a.n }

// Close ends the array (an empty one is "[]") and its line.
func (a *Writer) Close() error {
	if a.err != nil {
		return a.err
	}
	end := "\n]\n"
	if a.n == 0 {
		end = "[]\n"
	}
	_, a.err = io.WriteString(a.w, end)
	return a.err
}
