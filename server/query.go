package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
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
	if flt.Host != "" && owner != "" {
		if _, ok := s.visibleHost(w, r, owner, flt.Host); !ok {
			return
		}
	}
	fs, err := s.backend.OutstandingAll(r.Context(), flt)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "not_found", err)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	writeJSON(w, http.StatusOK, fs)
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
	rows, err := s.backend.HostSummaries(r.Context(), service.HostFilter{Owner: owner, RebootRequired: reboot, StaleAfter: s.opts.StaleAfter})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	writeJSON(w, http.StatusOK, rows)
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
	h, ok := s.scopedHost(w, r)
	if !ok {
		return
	}
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
	h, err := s.backend.Host(ctx, host)
	return err == nil && strings.EqualFold(h.Owner, owner)
}
