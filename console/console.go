// Package console is patchwatch's web console, served by `patchwatch
// serve` beside the API: server-rendered pages for owners (their hosts,
// what to run, whether to reboot) and admins (the fleet, its trend, who
// is overdue, whether the feeds are fresh). Pages work without
// JavaScript; the charts are SVG drawn on the server, and the only script
// is a copy button served as a file, so the Content-Security-Policy
// forbids every inline script.
//
// Every page reads the service's queries, the same the CLI and the API
// answer from, and every list links to its JSON equivalent.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
)

// Queries are the service's read queries, shared with the CLI and the
// API; a faster implementation (stored summaries) drops in unchanged.
type Queries interface {
	HostSummaries(ctx context.Context, f service.HostFilter) ([]service.HostSummary, error)
	// HostSummaryPage returns, of the hosts that pass the filter, whose
	// name contains nameContains and (with staleOnly) that are stale, at
	// most limit from the offset-th, and how many there are in all.
	HostSummaryPage(ctx context.Context, f service.HostFilter, nameContains string, staleOnly bool, offset, limit int) ([]service.HostSummary, int, error)
	// OutstandingAll returns the findings that pass the filter, most
	// urgent first; an error wrapping store.ErrNotFound for an unknown host.
	OutstandingAll(ctx context.Context, f service.Filter) ([]patchwatch.Finding, error)
	// OutstandingPage returns, of the findings OutstandingAll would, at
	// most limit from the offset-th, and how many there are in all.
	OutstandingPage(ctx context.Context, f service.Filter, offset, limit int) ([]patchwatch.Finding, int, error)
	// MatchAdvisories returns the advisories open on the owner's hosts (or
	// the fleet's) whose ID or a CVE contains needle, most hosts first.
	MatchAdvisories(ctx context.Context, owner, needle string) ([]service.AdvisoryMatch, error)
	// Search returns the hosts whose name contains needle and the
	// advisories MatchAdvisories finds, in one walk of the host records.
	Search(ctx context.Context, owner, needle string, staleAfter time.Duration) ([]service.HostSummary, []service.AdvisoryMatch, error)
	// Host and Advisory return an error wrapping store.ErrNotFound when unknown.
	Host(ctx context.Context, name string) (patchwatch.Host, error)
	Advisory(ctx context.Context, id string) (patchwatch.Advisory, error)
	// Checks returns a host's check results with the silences that disable them.
	Checks(ctx context.Context, h *patchwatch.Host) ([]patchwatch.HostCheck, error)
	// RebootRequiredSince is zero for a host that waits for no reboot.
	RebootRequiredSince(ctx context.Context, host string) (time.Time, error)
}

// API is the HTTP API's rules that the console shares: who a token is,
// and who may silence what.
type API interface {
	// Authenticate returns the usable token of one of the allowed kinds
	// that secret names, or an error (server.ErrUnauthorized,
	// server.ErrForbidden).
	Authenticate(ctx context.Context, secret string, allowed ...patchwatch.TokenKind) (patchwatch.Token, error)
	// AddSilence stores the silence the token asks for; errors wrap
	// patchwatch.ErrInvalidSilence or server.ErrForbidden.
	AddSilence(ctx context.Context, tok patchwatch.Token, req server.SilenceRequest) (patchwatch.Silence, error)
	// RemoveSilence removes a silence the token may manage; an error
	// wrapping store.ErrNotFound for an unknown or another owner's one.
	RemoveSilence(ctx context.Context, tok patchwatch.Token, id string) error
}

// Sessions keeps the console's sessions, and looks up the token each
// session stands on so that revoking the token ends the session.
type Sessions interface {
	PutSession(ctx context.Context, hash []byte, s patchwatch.Session) error
	// Session returns an error wrapping store.ErrNotFound when unknown.
	Session(ctx context.Context, hash []byte) (patchwatch.Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	// TakeSession returns and removes a session (a one-time link), or an
	// error wrapping store.ErrNotFound.
	TakeSession(ctx context.Context, hash []byte) (patchwatch.Session, error)
	DeleteSessions(ctx context.Context, now time.Time, tokenIDs ...string) (int, error)
	// TokenByID returns an error wrapping store.ErrNotFound when unknown.
	TokenByID(ctx context.Context, id string) (patchwatch.Token, []byte, error)
}

// Fleet builds the fleet's figures for the dashboard: the notifier's
// admin digest, so the page and the e-mail tell the same numbers.
type Fleet interface {
	// BuildAdminDashboard returns the admin digest's figures, without the
	// time-to-patch report.
	BuildAdminDashboard(ctx context.Context) (*notify.Message, []byte, error)
}

// Operations tells the state of the feeds and of the outbox.
type Operations interface {
	FeedStatuses(ctx context.Context) ([]patchwatch.FeedStatus, error)
	Deliveries(ctx context.Context) ([]patchwatch.Delivery, error)
}

// Options tune the console; zero fields take the defaults.
type Options struct {
	// Secure marks the session cookie Secure (the listener serves TLS).
	Secure bool
	// SessionTTL is how long a sign-in lasts; default 12h.
	SessionTTL time.Duration
	// StaleAfter flags hosts that have not reported for this long; default 48h.
	StaleAfter time.Duration
	// FeedMaxAge flags feeds without a success for this long; default 24h.
	FeedMaxAge time.Duration
	// PageSize is the rows of one page of a list; default 50.
	PageSize int
	Logger   *slog.Logger
	// Clock returns the time; nil means time.Now.
	Clock func() time.Time
}

// Console serves the web pages.
type Console struct {
	queries  Queries
	api      API
	sessions Sessions
	fleet    Fleet
	ops      Operations
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*template.Template
	static   http.Handler
}

//go:embed templates
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// New returns a console over the service's queries, the API's rules, the
// session store, the notifier's digest and the feeds' and outbox's state.
func New(queries Queries, api API, sessions Sessions, fleet Fleet, ops Operations, opts Options) (*Console, error) {
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.StaleAfter == 0 {
		opts.StaleAfter = 48 * time.Hour
	}
	if opts.FeedMaxAge == 0 {
		opts.FeedMaxAge = 24 * time.Hour
	}
	if opts.PageSize == 0 {
		opts.PageSize = 50
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	return &Console{queries: queries, api: api, sessions: sessions, fleet: fleet, ops: ops, opts: opts,
		log: opts.Logger, now: opts.Clock, pages: pages, static: http.FileServerFS(static)}, nil
}

// Handler returns the console's routes, every answer carrying the
// security headers.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", c.static))
	// Browsers ask for /favicon.ico on pages that name no icon (a JSON answer).
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/icon.svg", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /login", c.loginForm)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("GET /login/link", c.linkForm)
	mux.HandleFunc("POST /login/link", c.exchangeLink)
	mux.HandleFunc("GET /logout", c.signedIn(c.logoutForm))
	mux.HandleFunc("POST /logout", c.signedIn(c.checkCSRF(c.logout)))
	mux.HandleFunc("GET /{$}", c.signedIn(c.home))
	mux.HandleFunc("GET /hosts", c.signedIn(c.hostList))
	mux.HandleFunc("GET /hosts/{name}", c.signedIn(c.hostPage))
	mux.HandleFunc("POST /hosts/{name}/silences", c.signedIn(c.checkCSRF(c.silence)))
	mux.HandleFunc("POST /hosts/{name}/silences/{id}/remove", c.signedIn(c.checkCSRF(c.unsilence)))
	mux.HandleFunc("GET /findings", c.signedIn(c.findingList))
	mux.HandleFunc("GET /advisories/{id}", c.signedIn(c.advisoryPage))
	mux.HandleFunc("GET /search", c.signedIn(c.search))
	mux.HandleFunc("GET /owners/{email}", c.signedIn(c.adminOnly(c.ownerPage)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			http.NotFound(w, r)
			return
		}
		c.notFound(w, r)
	})
	return securityHeaders(mux)
}

// contentSecurityPolicy allows only this origin's stylesheet, the copy
// script file and inline SVG: no inline script, no inline style.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// viewer is who is signed in: an admin (Owner empty) or an owner.
type viewer struct {
	Token   patchwatch.Token
	Session patchwatch.Session
	hash    []byte
}

func (v *viewer) Admin() bool { return v.Token.Kind == patchwatch.TokenAdmin }

// scope is the owner whose hosts the viewer sees, "" for the fleet.
func (v *viewer) scope() string {
	if v.Admin() {
		return ""
	}
	return v.Token.Owner
}

// mayView reports whether the viewer may see a host of owner.
func (v *viewer) mayView(owner string) bool {
	return v.Admin() || strings.EqualFold(owner, v.Token.Owner)
}

// MayRemove reports whether the viewer may remove a silence shown on a
// host page it sees: admins any, owners those of the host and their own.
func (v *viewer) MayRemove(sl *patchwatch.Silence) bool {
	return v.Admin() || sl.Scope == "host" || sl.Scope == "owner" && strings.EqualFold(sl.ScopeValue, v.Token.Owner)
}

// layout is what every page template receives.
type layout struct {
	Title  string
	Viewer *viewer
	CSRF   string
	Data   any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v *viewer, title string, data any) {
	t := c.pages[page]
	l := layout{Title: title, Viewer: v, Data: data}
	if v != nil {
		l.CSRF = v.Session.CSRF
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", l); err != nil {
		c.log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// message is the data of the error and notice pages.
type message struct{ Text string }

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	v, _ := c.viewer(r)
	c.render(w, r, http.StatusNotFound, "message", v, "Not found", message{"There is nothing here, or nothing you may see."})
}

// fail answers an internal error without its detail, which is logged.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r)
		return
	}
	c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	c.render(w, r, http.StatusInternalServerError, "message", v, "Error", message{"Something went wrong; the error is logged."})
}

func (c *Console) adminOnly(next func(http.ResponseWriter, *http.Request, *viewer)) func(http.ResponseWriter, *http.Request, *viewer) {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		if !v.Admin() {
			c.render(w, r, http.StatusForbidden, "message", v, "Admins only", message{"This page is for admins."})
			return
		}
		next(w, r, v)
	}
}
