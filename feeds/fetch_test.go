package feeds_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/feeds"
)

// noSleep records the waits instead of sleeping, so tests never wait.
type noSleep struct{ waits []time.Duration }

func (n *noSleep) sleep(_ context.Context, d time.Duration) error {
	n.waits = append(n.waits, d)
	return nil
}

func newFetcher(opts feeds.FetcherOptions, ns *noSleep) *feeds.Fetcher {
	opts.Sleep = ns.sleep
	return feeds.NewFetcher(opts)
}

func TestFetchConditional(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Wed, 25 Nov 2026 07:00:00 GMT")
		w.Write([]byte("body"))
	}))
	defer srv.Close()
	f := newFetcher(feeds.FetcherOptions{}, &noSleep{})
	res, err := f.Fetch(context.Background(), srv.URL, feeds.Validators{})
	if err != nil || string(res.Body) != "body" || res.Validators.ETag != `"v1"` {
		t.Fatalf("first fetch = %+v, %v", res, err)
	}
	res, err = f.Fetch(context.Background(), srv.URL, res.Validators)
	if err != nil || !res.NotModified {
		t.Fatalf("second fetch = %+v, %v", res, err)
	}
}

func TestFetchRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	ns := &noSleep{}
	f := newFetcher(feeds.FetcherOptions{Backoff: time.Second}, ns)
	res, err := f.Fetch(context.Background(), srv.URL, feeds.Validators{})
	if err != nil || string(res.Body) != "ok" {
		t.Fatalf("fetch = %+v, %v", res, err)
	}
	if len(ns.waits) != 2 || ns.waits[0] != time.Second || ns.waits[1] != 7*time.Second {
		t.Errorf("waits = %v, want [1s 7s] (backoff, then Retry-After)", ns.waits)
	}
}

func TestFetchFailures(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		opts      feeds.FetcherOptions
		wantErr   error
		wantCalls int32
	}{
		{"404 is final", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, feeds.FetcherOptions{}, feeds.ErrStatus, 1},
		{"500 until attempts run out", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }, feeds.FetcherOptions{Attempts: 3}, feeds.ErrStatus, 3},
		{"oversized by Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Write(make([]byte, 2048))
		}, feeds.FetcherOptions{MaxBytes: 1024}, feeds.ErrTooLarge, 1},
		{"oversized chunked", func(w http.ResponseWriter, r *http.Request) {
			for range 4 {
				w.Write(make([]byte, 512))
				w.(http.Flusher).Flush()
			}
		}, feeds.FetcherOptions{MaxBytes: 1024}, feeds.ErrTooLarge, 1},
		{"truncated body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(1000))
			w.Write([]byte("short"))
		}, feeds.FetcherOptions{Attempts: 2}, nil, 2},
		{"slow server", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, feeds.FetcherOptions{Attempts: 1, Timeout: 50 * time.Millisecond}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tt.handler(w, r)
			}))
			defer srv.Close()
			_, err := newFetcher(tt.opts, &noSleep{}).Fetch(context.Background(), srv.URL, feeds.Validators{})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
}
