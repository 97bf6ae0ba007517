package server

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Errors of body reading, answered 413 and 503.
var (
	errTooLarge = errors.New("request body too large")
	errBusy     = errors.New("server busy: too many request bodies in flight, retry later")
)

// busyRetryAfter is the Retry-After of a 503: bodies in flight finish in
// seconds, and clients spread their retries.
const busyRetryAfter = 5 * time.Second

// bodyLimits bounds what all requests together hold: the number of bodies
// being read and the bytes buffered for them, so that many concurrent
// bodies (or gzip bombs) cost at most the configured bytes.
type bodyLimits struct {
	bodies *semaphore.Weighted
	bytes  *semaphore.Weighted
}

// guardKey carries a request's guard in its context.
type guardKey struct{}

// requestGuard is one request's share of the limits and its read
// deadline: short until a valid token is seen, then the full one.
type requestGuard struct {
	rc            *http.ResponseController
	fullDeadline  time.Time
	authenticated bool

	mu       sync.Mutex
	body     bool  // holds a body slot
	reserved int64 // bytes of the byte budget
}

// guard wraps every route: a request with a body gets a short read
// deadline, extended only once authenticate accepted its token, and gives
// back its share of the body limits when it ends.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := &requestGuard{rc: http.NewResponseController(w), fullDeadline: time.Now().Add(s.opts.ReadTimeout)}
		if hasBody(r) {
			// A connection that does not support deadlines (an
			// httptest.ResponseRecorder) simply keeps its own.
			_ = g.rc.SetReadDeadline(time.Now().Add(s.opts.UnauthenticatedTimeout))
		}
		defer s.release(g)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), guardKey{}, g)))
	})
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

func guardOf(ctx context.Context) *requestGuard {
	g, _ := ctx.Value(guardKey{}).(*requestGuard)
	return g
}

// authenticate lifts the short deadline of a request whose token is valid.
func (g *requestGuard) authenticate() {
	if g == nil {
		return
	}
	g.authenticated = true
	_ = g.rc.SetReadDeadline(g.fullDeadline)
}

func (s *Server) release(g *requestGuard) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reserved > 0 {
		s.limits.bytes.Release(g.reserved)
		g.reserved = 0
	}
	if g.body {
		s.limits.bodies.Release(1)
		g.body = false
	}
}

// reserve takes n bytes of the byte budget for g, or reports errBusy.
func (s *Server) reserve(g *requestGuard, n int64) error {
	if !s.limits.bytes.TryAcquire(n) {
		return errBusy
	}
	g.mu.Lock()
	g.reserved += n
	g.mu.Unlock()
	return nil
}

// body reads an authenticated request's body within the size limit,
// decompressing gzip, and within the limits on bodies in flight. The
// buffer grows by doubling and each new buffer is reserved before it is
// made, outgrown ones included, so what the budget counts is what the
// request allocated.
func (s *Server) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	g := guardOf(r.Context())
	if g == nil || !g.authenticated {
		return nil, errors.New("body read before the token was checked") // a bug in a handler
	}
	if !s.limits.bodies.TryAcquire(1) {
		return nil, errBusy
	}
	g.mu.Lock()
	g.body = true
	g.mu.Unlock()
	var rd io.Reader = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return nil, errTooLarge
			}
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		rd = zr
	}
	limit := s.opts.MaxBodyBytes
	size := int64(32 << 10)
	if r.ContentLength > 0 && r.Header.Get("Content-Encoding") == "" {
		size = min(r.ContentLength+1, limit+1)
	}
	if err := s.reserve(g, size); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, errTooLarge
			}
			// The outgrown buffer stays counted until the request ends: it
			// is garbage, but memory until the collector takes it.
			grown := min(2*int64(cap(buf)), limit+1)
			if err := s.reserve(g, grown); err != nil {
				return nil, err
			}
			buf = append(make([]byte, 0, grown), buf...)
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, errTooLarge
		}
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
	}
}

// busy answers 503 with the wait after which to retry.
func (s *Server) busy(w http.ResponseWriter, r *http.Request) {
	s.metrics.rejected.WithLabelValues("busy").Inc()
	w.Header().Set("Retry-After", fmt.Sprint(int(busyRetryAfter.Seconds())))
	w.Header().Set("Connection", "close") // the rest of the body is not read
	s.log.Warn("request refused: body limits in flight", "method", r.Method, "path", r.URL.Path)
	writeJSON(w, http.StatusServiceUnavailable, apiError{Error: errBusy.Error(), Code: "busy"})
}
