// Package server is patchwatch's HTTP API: VMs enroll and report what they
// run, owners and admins query what is outstanding, each seeing only what
// is theirs.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/buildinfo"
	"github.com/patchwatch/patchwatch/redact"
	"github.com/patchwatch/patchwatch/service"
)

// Backend is what the API needs of the application layer.
type Backend interface {
	// PutHost stores a host's report durably; it returns only once the
	// report is committed.
	PutHost(ctx context.Context, h patchwatch.Host) ([]patchwatch.Event, error)
	OutstandingAll(ctx context.Context, f service.Filter) ([]patchwatch.Finding, error)
	// EachOutstanding and EachHostSummary stream one page of a listing
	// from the stored findings and return the next page's cursor ("" at
	// the end); a cursor not handed out wraps service.ErrBadCursor.
	EachOutstanding(ctx context.Context, f service.Filter, page service.Page, fn func(*patchwatch.Finding) error) (string, error)
	EachHostSummary(ctx context.Context, f service.HostFilter, page service.Page, fn func(*service.HostSummary) error) (string, error)
	// HostRecord returns a host's stored summary, without its inventory;
	// an error wrapping store.ErrNotFound when unknown.
	HostRecord(ctx context.Context, name string) (patchwatch.HostRecord, error)
	// Advisory returns an error wrapping store.ErrNotFound when unknown.
	Advisory(ctx context.Context, id string) (patchwatch.Advisory, error)
	// Host returns an error wrapping store.ErrNotFound when unknown.
	Host(ctx context.Context, name string) (patchwatch.Host, error)
	// Checks returns a host's check results with the silences that disable them.
	Checks(ctx context.Context, h *patchwatch.Host) ([]patchwatch.HostCheck, error)
}

// Options tune the server; zero fields take the defaults.
type Options struct {
	// MaxBodyBytes bounds a request body after decompression; default 32 MiB.
	MaxBodyBytes int64
	// MaxBodiesInFlight and MaxBodyBytesInFlight bound the bodies all
	// requests read at once and the bytes buffered for them; beyond either
	// a request is answered 503 with Retry-After. Defaults 32 and 256 MiB.
	MaxBodiesInFlight    int64
	MaxBodyBytesInFlight int64
	// UnauthenticatedTimeout cuts a request body that is still arriving
	// this long after the headers when the request has no valid token;
	// default 10s. ReadTimeout is the whole request's deadline once the
	// token is checked; default 2m.
	UnauthenticatedTimeout time.Duration
	ReadTimeout            time.Duration
	// ReportInterval and ReportBurst rate-limit each host's reports;
	// defaults one a minute, burst 5.
	ReportInterval time.Duration
	ReportBurst    int
	// StaleAfter flags hosts that have not reported for this long; default 48h.
	StaleAfter time.Duration
	// Registry receives the metrics; nil means a new registry.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Clock returns the time; nil means time.Now.
	Clock func() time.Time
	// Feeds serves GET /api/v1/feeds; nil lists none.
	Feeds FeedStatusSource
}

// Server serves the API.
type Server struct {
	backend      Backend
	tokens       TokenStore
	admin        TokenAdmin
	silenceStore SilenceStore
	opts         Options
	log          *slog.Logger
	now          func() time.Time
	metrics      *metrics
	reg          *prometheus.Registry

	limits bodyLimits

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// Tokens is the token storage the API needs, and the silences it lists.
type Tokens interface {
	TokenStore
	TokenAdmin
	SilenceStore
}

// New returns a server over backend and tokens.
func New(backend Backend, tokens Tokens, opts Options) *Server {
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.MaxBodiesInFlight == 0 {
		opts.MaxBodiesInFlight = 32
	}
	if opts.MaxBodyBytesInFlight == 0 {
		opts.MaxBodyBytesInFlight = 256 << 20
	}
	// One body at its limit always fits the budget.
	opts.MaxBodyBytesInFlight = max(opts.MaxBodyBytesInFlight, opts.MaxBodyBytes+1)
	if opts.UnauthenticatedTimeout == 0 {
		opts.UnauthenticatedTimeout = 10 * time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 2 * time.Minute
	}
	if opts.ReportInterval == 0 {
		opts.ReportInterval = time.Minute
	}
	if opts.ReportBurst == 0 {
		opts.ReportBurst = 5
	}
	if opts.StaleAfter == 0 {
		opts.StaleAfter = 48 * time.Hour
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Server{backend: backend, tokens: tokens, admin: tokens, silenceStore: tokens, opts: opts, log: opts.Logger, now: opts.Clock,
		metrics: newMetrics(opts.Registry), reg: opts.Registry, limiters: map[string]*rate.Limiter{},
		limits: bodyLimits{bodies: semaphore.NewWeighted(opts.MaxBodiesInFlight), bytes: semaphore.NewWeighted(opts.MaxBodyBytesInFlight)}}
}

// Metrics returns the collectors the rest of the process reports to.
func (s *Server) Metrics() *Metrics { return &Metrics{m: s.metrics} }

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler { return s.WithConsole(nil) }

// WithConsole returns the API's routes with the web console, when not
// nil, answering every other path from "/".
func (s *Server) WithConsole(console http.Handler) http.Handler {
	mux := http.NewServeMux()
	if console != nil {
		mux.Handle("/", console)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, healthz{Status: "ok", Build: buildinfo.Read()})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /api/v1/enroll", s.enroll)
	mux.HandleFunc("POST /api/v1/reports", s.report)
	mux.HandleFunc("POST /vuls", s.vuls)
	mux.HandleFunc("GET /api/v1/findings", s.findings)
	mux.HandleFunc("GET /api/v1/hosts", s.hosts)
	mux.HandleFunc("GET /api/v1/hosts/{name}", s.host)
	mux.HandleFunc("GET /api/v1/hosts/{name}/checks", s.hostChecks)
	mux.HandleFunc("GET /api/v1/advisories/{id}", s.advisory)
	mux.HandleFunc("GET /api/v1/reports/time-to-patch", s.timeToPatch)
	mux.HandleFunc("GET /api/v1/silences", s.silences)
	mux.HandleFunc("POST /api/v1/silences", s.addSilence)
	mux.HandleFunc("DELETE /api/v1/silences/{id}", s.removeSilence)
	mux.HandleFunc("POST /api/v1/tokens", s.createToken)
	mux.HandleFunc("GET /api/v1/tokens", s.listTokens)
	mux.HandleFunc("GET /api/v1/feeds", s.feeds)
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", s.revokeToken)
	return s.guard(mux)
}

// healthz is the body of GET /healthz.
type healthz struct {
	Status string         `json:"status"`
	Build  buildinfo.Info `json:"build"`
}

// apiError is every error response's body.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fail answers a request with a clear JSON error and logs it. Internal
// errors are logged in full but answered without detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code string, err error) {
	// The request's own token, in any case or escaping, never comes back
	// in an answer or a log line.
	if secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.TrimSpace(secret) != "" {
		err = redact.New(secret).Error(err)
	}
	msg := err.Error()
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "client", r.RemoteAddr, "err", err)
		msg = "internal error"
	} else {
		s.log.Warn("request rejected", "method", r.Method, "path", r.URL.Path, "client", r.RemoteAddr, "status", status, "code", code, "err", err)
	}
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

func (s *Server) authFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errForbidden) {
		s.fail(w, r, http.StatusForbidden, "forbidden", err)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="patchwatch"`)
	if hasBody(r) {
		// Do not wait for the body of a request without a valid token.
		w.Header().Set("Connection", "close")
	}
	s.fail(w, r, http.StatusUnauthorized, "unauthorized", err)
}

// allow applies the per-host report rate limit.
func (s *Server) allow(host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[host]
	if l == nil {
		l = rate.NewLimiter(rate.Every(s.opts.ReportInterval), s.opts.ReportBurst)
		s.limiters[host] = l
	}
	return l.AllowN(s.now(), 1)
}
