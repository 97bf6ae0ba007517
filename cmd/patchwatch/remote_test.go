package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
)

// TestEachListed: the CLI's remote mode reads a streamed fleet listing
// one element at a time, over HTTP, and stops with a clear error on what
// a real server (or a broken proxy) may send instead: an API error, a
// body that is not an array, an element past its bound, a stall.
func TestEachListed(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/findings", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Query().Get("owner") != "ann" {
			http.Error(w, `{"error":"forbidden"}`, http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[\n")
		for i := range 2000 {
			if i > 0 {
				fmt.Fprint(w, ",\n")
			}
			fmt.Fprintf(w, `  {"host": "vm%d", "advisory": "USN-%d-1", "urgency": "high", "status": "update"}`, i, i)
		}
		fmt.Fprint(w, "\n]\n")
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `[{"host": "vm1", "title": "%s"}]`, strings.Repeat("x", maxListElement+1))
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>proxy error</html>") })
	mux.HandleFunc("/cut", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `[{"host": "vm1"}, {"host": "vm`) })
	mux.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"host": "vm1"},`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	r := &remote{base: srv.URL, token: "tok", client: srv.Client(), idle: time.Second}
	ctx := context.Background()

	var got []patchwatch.Finding
	err := eachListed(ctx, r, "/api/v1/findings", url.Values{"owner": {"ann"}}, func(f *patchwatch.Finding) error {
		got = append(got, *f)
		return nil
	})
	if err != nil || len(got) != 2000 || got[1999].Host != "vm1999" || got[7].Advisory != "USN-7-1" || got[7].Urgency != patchwatch.UrgencyHigh {
		t.Fatalf("listing: %v, %d findings", err, len(got))
	}
	stop := errors.New("enough")
	n := 0
	if err := eachListed(ctx, r, "/api/v1/findings", url.Values{"owner": {"ann"}}, func(*patchwatch.Finding) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	}); !errors.Is(err, stop) || n != 3 {
		t.Fatalf("a caller's error: %v after %d", err, n)
	}

	// A consumer slower than the idle bound (a pager on the output) is
	// not a stalled server.
	n = 0
	if err := eachListed(ctx, r, "/api/v1/findings", url.Values{"owner": {"ann"}}, func(*patchwatch.Finding) error {
		if n++; n == 1 {
			time.Sleep(1500 * time.Millisecond)
		}
		return nil
	}); err != nil || n != 2000 {
		t.Fatalf("a slow consumer: %v after %d", err, n)
	}

	for _, tt := range []struct{ path, want string }{
		{"/api/v1/findings", "server: forbidden (HTTP 403)"},
		{"/huge", "larger than 16 MiB"},
		{"/text", "not the JSON expected"},
		{"/cut", "not the JSON expected"},
		{"/stall", "no data for 1s"},
	} {
		err := eachListed(ctx, r, tt.path, nil, func(*patchwatch.Finding) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.path, err, tt.want)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := eachListed(cancelled, r, "/stall", nil, func(*patchwatch.Finding) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
