package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/jsonarray"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
)

// scope narrows a query to what the token may see: admins everything,
// owners their own hosts.
func (s *Server) scope(w http.ResponseWriter, r *http.Request) (owner string, ok bool) {
	tok, err := s.authenticate(r, patchwatch.TokenAdmin, patchwatch.TokenOwner)
	if err != nil {
		s.authFail(w, r, err)
		return "", false
	}
	if tok.Kind == patchwatch.TokenOwner {
		if o := r.URL.Query().Get("owner"); o != "" && !strings.EqualFold(o, tok.Owner) {
			s.fail(w, r, http.StatusForbidden, "forbidden", errors.New("owner tokens see only their own hosts"))
			return "", false
		}
		return tok.Owner, true
	}
	return r.URL.Query().Get("owner"), true
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.scope(w, r)
	if !ok {
		return
	}
	flt, err := FindingFilter(r.URL.Query(), owner)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad_query", err)
		return
	}
	page, ok := s.page(w, r)
	if !ok {
		return
	}
	if flt.Host != "" {
		rec, err := s.backend.HostRecord(r.Context(), flt.Host)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, http.StatusInternalServerError, "internal", err)
			return
		}
		if err != nil || owner != "" && !strings.EqualFold(rec.Owner, owner) {
			s.fail(w, r, http.StatusNotFound, "not_found", fmt.Errorf("host %s: not found", flt.Host))
			return
		}
	}
	s.stream(w, r, func(fn func(any) error) (string, error) {
		return s.backend.EachOutstanding(r.Context(), flt, page, func(f *patchwatch.Finding) error { return fn(f) })
	})
}

// maxPage bounds one page of a listing.
const maxPage = 10000

// page reads the limit and cursor parameters of a listing: without a
// limit the whole listing is answered (streamed), as before pagination.
func (s *Server) page(w http.ResponseWriter, r *http.Request) (service.Page, bool) {
	p := service.Page{Cursor: r.URL.Query().Get("cursor")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			s.fail(w, r, http.StatusBadRequest, "bad_query", fmt.Errorf("limit=%q is not a number from 1 to %d", v, maxPage))
			return p, false
		}
		p.Limit = n
	}
	return p, true
}

// stream answers a listing as a JSON array written while it is read. The
// first element is produced before the status is sent, so a bad cursor or
// a failing store still gets a proper error; a later failure cuts the
// body short (and is logged). The next page's cursor, when there is one,
// goes in the X-Next-Cursor header and a Link rel="next".
func (s *Server) stream(w http.ResponseWriter, r *http.Request, list func(fn func(any) error) (string, error)) {
	var out *jsonarray.Writer
	var buf *bufio.Writer
	started := false
	begin := func(next string) {
		started = true
		w.Header().Set("Content-Type", "application/json")
		if next != "" {
			q := r.URL.Query()
			q.Set("cursor", next)
			w.Header().Set("X-Next-Cursor", next)
			w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", r.URL.Path, q.Encode()))
		}
		w.WriteHeader(http.StatusOK)
		buf = bufio.NewWriterSize(w, 32<<10)
		// Encoded on every core, written in order: a large listing is
		// mostly encoding. The service hands over values it does not
		// touch again.
		out = jsonarray.NewParallel(buf, runtime.GOMAXPROCS(0))
	}
	closed := false
	defer func() {
		if out != nil && !closed {
			out.Abort() // a listing cut short: no closing bracket
		}
	}()
	// The cursor of the next page is known only at the end: a paged
	// answer (bounded by its limit) is gathered first, a whole listing
	// streams from its first element.
	paged := r.URL.Query().Get("limit") != ""
	var items []any
	next, err := list(func(v any) error {
		if paged {
			items = append(items, v)
			return nil
		}
		if !started {
			begin("")
		}
		return out.Add(v)
	})
	if err != nil {
		if started {
			s.log.Error("listing cut short", "path", r.URL.Path, "err", err)
			return
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.fail(w, r, http.StatusNotFound, "not_found", err)
		case errors.Is(err, service.ErrBadCursor):
			s.fail(w, r, http.StatusBadRequest, "bad_query", err)
		default:
			s.fail(w, r, http.StatusInternalServerError, "internal", err)
		}
		return
	}
	if !started {
		begin(next)
	}
	for _, v := range items {
		if err := out.Add(v); err != nil {
			return
		}
	}
	closed = true
	if out.Close() == nil {
		_ = buf.Flush()
	}
}

// FindingFilter reads GET /api/v1/findings' query parameters (host,
// advisory, severity, urgency, reboot_required, include_silenced, overdue)
// into a filter over owner's hosts ("" for the fleet); the console's
// filters use the same names.
func FindingFilter(q url.Values, owner string) (service.Filter, error) {
	flt := service.Filter{Host: q.Get("host"), Owner: owner, Advisory: q.Get("advisory")}
	var err error
	if v := q.Get("severity"); v != "" {
		var known bool
		if flt.MinSeverity, known = patchwatch.ParseSeverity(v); !known {
			err = fmt.Errorf("severity %q is not negligible, low, medium, high or critical", v)
		}
	}
	if v := q.Get("urgency"); v != "" && err == nil {
		flt.MinUrgency, err = patchwatch.ParseUrgency(v)
	}
	for name, dst := range map[string]*bool{"reboot_required": &flt.RebootRequired, "include_silenced": &flt.IncludeSilenced, "overdue": &flt.OverdueOnly} {
		if v := q.Get(name); v != "" && err == nil {
			*dst, err = strconv.ParseBool(v)
		}
	}
	return flt, err
}

func (s *Server) hosts(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.scope(w, r)
	if !ok {
		return
	}
	reboot, err := strconv.ParseBool(orDefault(r.URL.Query().Get("reboot_required"), "false"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad_query", err)
		return
	}
	page, ok := s.page(w, r)
	if !ok {
		return
	}
	flt := service.HostFilter{Owner: owner, RebootRequired: reboot, StaleAfter: s.opts.StaleAfter}
	s.stream(w, r, func(fn func(any) error) (string, error) {
		return s.backend.EachHostSummary(r.Context(), flt, page, func(h *service.HostSummary) error { return fn(h) })
	})
}

func (s *Server) host(w http.ResponseWriter, r *http.Request) {
	if h, ok := s.scopedHost(w, r); ok {
		writeJSON(w, http.StatusOK, h)
	}
}

// scopedHost finds the host named in the path, if the token may see it; an
// owner token asking for another owner's host gets the same 404 as for an
// unknown one.
func (s *Server) scopedHost(w http.ResponseWriter, r *http.Request) (patchwatch.Host, bool) {
	owner, ok := s.scope(w, r)
	if !ok {
		return patchwatch.Host{}, false
	}
	return s.visibleHost(w, r, owner, r.PathValue("name"))
}

// visibleHost finds a host that owner ("" for an admin) may see; another
// owner's host answers the same 404 as an unknown one.
func (s *Server) visibleHost(w http.ResponseWriter, r *http.Request, owner, name string) (patchwatch.Host, bool) {
	h, err := s.backend.Host(r.Context(), name)
	if err != nil || owner != "" && !strings.EqualFold(h.Owner, owner) {
		s.fail(w, r, http.StatusNotFound, "not_found", fmt.Errorf("host %s: not found", name))
		return patchwatch.Host{}, false
	}
	return h, true
}

// hostChecks returns a host's security-guideline check results, each with
// its guideline's title and the silence that disables it.
func (s *Server) hostChecks(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.scope(w, r)
	if !ok {
		return
	}
	// The stored record carries the checks: the inventory is not read.
	name := r.PathValue("name")
	rec, err := s.backend.HostRecord(r.Context(), name)
	if err != nil || owner != "" && !strings.EqualFold(rec.Owner, owner) {
		s.fail(w, r, http.StatusNotFound, "not_found", fmt.Errorf("host %s: not found", name))
		return
	}
	h := patchwatch.Host{Name: rec.Name, Owner: rec.Owner, Checks: rec.Checks}
	checks, err := s.backend.Checks(r.Context(), &h)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	writeJSON(w, http.StatusOK, checks)
}

func (s *Server) advisory(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.scope(w, r)
	if !ok {
		return
	}
	a, err := s.backend.Advisory(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "not_found", err)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	affected, err := s.backend.OutstandingAll(r.Context(), service.Filter{Advisory: a.ID, Owner: owner})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	writeJSON(w, http.StatusOK, AdvisoryResponse{Advisory: a, Affected: affected})
}

// AdvisoryResponse is one advisory with the findings it causes.
type AdvisoryResponse struct {
	Advisory patchwatch.Advisory  `json:"advisory"`
	Affected []patchwatch.Finding `json:"affected_hosts"`
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Reporter is what the report endpoints need.
type Reporter interface {
	TimeToPatch(ctx context.Context, by string) ([]service.TimeToPatchRow, error)
}

func (s *Server) timeToPatch(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r, patchwatch.TokenAdmin); err != nil {
		s.authFail(w, r, err)
		return
	}
	rep, ok := s.backend.(Reporter)
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "unsupported", errors.New("this server keeps no finding history"))
		return
	}
	by := orDefault(r.URL.Query().Get("by"), "urgency")
	if by != "host" && by != "owner" && by != "urgency" {
		s.fail(w, r, http.StatusBadRequest, "bad_query", fmt.Errorf("by=%q is not host, owner or urgency", by))
		return
	}
	rows, err := rep.TimeToPatch(r.Context(), by)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	writeJSON(w, http.StatusOK, rows)
}

func (s *Server) silences(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.scope(w, r)
	if !ok {
		return
	}
	all, err := s.silenceStore.Silences(r.Context())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	out := []patchwatch.Silence{}
	for _, sl := range all {
		// Owners see the fleet's silences and their own.
		if owner == "" || sl.Scope == "fleet" || sl.Scope == "owner" && strings.EqualFold(sl.ScopeValue, owner) ||
			sl.Scope == "host" && s.ownsHost(r.Context(), owner, sl.ScopeValue) {
			out = append(out, sl)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ownsHost(ctx context.Context, owner, host string) bool {
	h, err := s.backend.HostRecord(ctx, host)
	return err == nil && strings.EqualFold(h.Owner, owner)
}
