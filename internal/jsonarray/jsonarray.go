// Package jsonarray writes a JSON array one element at a time, byte for
// byte as encoding/json's Encoder with SetIndent("", "  ") writes the
// whole slice, so a listing streams without changing its output.
package jsonarray

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// Writer streams one JSON array.
type Writer struct {
	w   io.Writer
	n   int
	err error

	// With workers, elements are encoded a batch at a time on that many
	// goroutines and written in order by another: a listing of the whole
	// fleet is mostly encoding.
	workers int
	batch   []any
	sem     chan struct{}
	pending chan chan encoded
	wrote   chan error
	mu      sync.Mutex
	failed  error

	// The encoders (one per worker, or the Writer's own) and the batches'
	// buffers are reused: a listing of the whole fleet writes 700 MB, and
	// encoding each element and each batch into bytes of its own was a
	// third of what it allocated.
	encoders chan *encoder
	free     chan []byte
	own      *encoder
	buf      []byte
}

type encoded struct {
	data []byte
	err  error
}

// batchSize is how many elements one encoding goroutine takes at a time.
const batchSize = 256

// New starts an array on w; nothing is written until Add or Close.
func New(w io.Writer) *Writer { return &Writer{w: w} }

// NewParallel is New encoding on workers goroutines. The values given to
// Add must not change after it (they are encoded later).
func NewParallel(w io.Writer, workers int) *Writer {
	if workers < 2 {
		return New(w)
	}
	a := &Writer{w: w, workers: workers, sem: make(chan struct{}, workers), pending: make(chan chan encoded, workers), wrote: make(chan error, 1),
		encoders: make(chan *encoder, workers), free: make(chan []byte, 2*workers+1)}
	for range workers {
		a.encoders <- newEncoder()
	}
	go a.writeInOrder(a.pending)
	return a
}

// Add writes one element.
func (a *Writer) Add(v any) error {
	if a.err != nil {
		return a.err
	}
	if a.workers > 0 {
		if a.err = a.asyncErr(); a.err != nil {
			return a.err
		}
		a.batch = append(a.batch, v)
		if len(a.batch) == batchSize {
			a.dispatch()
		}
		return nil
	}
	if a.own == nil {
		a.own = newEncoder()
	}
	if a.buf, a.err = a.own.appendElement(a.buf[:0], v, a.n == 0); a.err != nil {
		return a.err
	}
	a.n++
	_, a.err = a.w.Write(a.buf)
	return a.err
}

// encoder encodes elements through one json.Encoder into one scratch
// buffer, as json.Marshal would but without new bytes for each.
type encoder struct {
	scratch bytes.Buffer
	json    *json.Encoder
}

func newEncoder() *encoder {
	e := &encoder{}
	e.json = json.NewEncoder(&e.scratch)
	return e
}

// appendElement appends v's element, with the separator before it, to dst.
func (e *encoder) appendElement(dst []byte, v any, first bool) ([]byte, error) {
	e.scratch.Reset()
	if err := e.json.Encode(v); err != nil {
		return dst, err
	}
	compact := e.scratch.Bytes()
	compact = compact[:len(compact)-1] // the newline Encode ends with
	if first {
		dst = append(dst, "[\n  "...)
	} else {
		dst = append(dst, ",\n  "...)
	}
	return indent(dst, compact), nil
}

// indent appends compact, the valid compact JSON that json.Marshal
// writes, as json.MarshalIndent(v, "  ", "  ") would write it: half of
// that function's time goes to a general scanner this input needs none
// of (only strings must be skipped, and Marshal leaves no whitespace).
func indent(dst, compact []byte) []byte {
	depth := 1
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, ' ', ' ')
		}
	}
	for i := 0; i < len(compact); i++ {
		c := compact[i]
		switch c {
		case '"':
			// Copy the string whole; a backslash escapes the next byte.
			j := i + 1
			for ; j < len(compact) && compact[j] != '"'; j++ {
				if compact[j] == '\\' {
					j++
				}
			}
			dst = append(dst, compact[i:j+1]...)
			i = j
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(compact) && (compact[i+1] == '}' || compact[i+1] == ']') {
				dst = append(dst, compact[i+1])
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, c, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// dispatch hands the batch to an encoding goroutine, waiting while all
// are busy or the writer is behind: memory holds a few batches at most.
func (a *Writer) dispatch() {
	batch, first := a.batch, a.n == 0
	a.n += len(batch)
	a.batch = nil
	done := make(chan encoded, 1)
	a.sem <- struct{}{}
	var buf []byte
	select {
	case buf = <-a.free:
	default:
	}
	go func() {
		defer func() { <-a.sem }()
		enc := <-a.encoders
		defer func() { a.encoders <- enc }()
		buf := buf[:0]
		for i, v := range batch {
			var err error
			if buf, err = enc.appendElement(buf, v, first && i == 0); err != nil {
				done <- encoded{err: err}
				return
			}
		}
		done <- encoded{data: buf}
	}()
	a.pending <- done
}

func (a *Writer) writeInOrder(pending <-chan chan encoded) {
	var err error
	for done := range pending {
		res := <-done
		if err == nil {
			err = res.err
			if err == nil {
				_, err = a.w.Write(res.data)
			}
			select {
			case a.free <- res.data:
			default:
			}
			if err != nil {
				a.mu.Lock()
				a.failed = err
				a.mu.Unlock()
			}
		}
	}
	a.wrote <- err
}

func (a *Writer) asyncErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failed
}

// errAborted ends an array that Abort cut short.
var errAborted = errors.New("array aborted")

// Abort ends the Writer's goroutines without ending the array: a listing
// cut short stays visibly incomplete (no closing bracket).
func (a *Writer) Abort() {
	if a.err == nil {
		a.err = errAborted
	}
	_ = a.Close()
}

// Len returns the number of elements written.
func (a *Writer) Len() int { return a.n + len(a.batch) }

// Close ends the array (an empty one is "[]") and its line. A parallel
// Writer must be closed, even after an error, to end its goroutines.
func (a *Writer) Close() error {
	if a.workers > 0 {
		if a.pending == nil {
			return a.err
		}
		if a.err == nil && len(a.batch) > 0 {
			a.dispatch()
		}
		close(a.pending)
		a.pending = nil
		if err := <-a.wrote; a.err == nil {
			a.err = err
		}
	}
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
