package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// progress is the line a long import keeps up to date on a terminal's
// stderr: files and records read so far. It appears after a second, so a
// short import prints nothing, and never when stderr is not a terminal.
type progress struct {
	files, records atomic.Int64

	mu      sync.Mutex
	w       io.Writer // nil: no progress line
	shown   bool
	done    chan struct{}
	stopped bool
}

// startProgress starts the progress line when enabled and stderr is a terminal.
func startProgress(env *Env, enabled bool) *progress {
	p := &progress{done: make(chan struct{})}
	if !enabled || !isTerminal(env.Stderr) {
		p.stopped = true
		return p
	}
	p.w = env.Stderr
	start := time.Now()
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				if elapsed := time.Since(start); elapsed >= time.Second {
					p.mu.Lock()
					if !p.stopped {
						fmt.Fprintf(p.w, "\r\033[Kimporting: %d files, %d records, %s", p.files.Load(), p.records.Load(), elapsed.Round(time.Second))
						p.shown = true
					}
					p.mu.Unlock()
				}
			}
		}
	}()
	return p
}

// clear erases the progress line before other output; the next tick
// draws it again.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// stop erases the line for good; it may be called more than once.
func (p *progress) stop() {
	p.clear()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		close(p.done)
	}
}

// isTerminal reports whether w is a terminal (not a file, pipe or /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
