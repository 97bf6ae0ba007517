package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/store"
)

// EnrollRequest is the body of POST /api/v1/enroll.
type EnrollRequest struct {
	Hostname     string `json:"hostname"`
	InstanceID   string `json:"instance_id,omitempty"`
	InstanceName string `json:"instance_name,omitempty"`
}

// EnrollResponse carries the host's own token, shown once.
type EnrollResponse struct {
	Host  string `json:"host"`
	Token string `json:"token"`
	Owner string `json:"owner"`
	// Project is the project the host's first enrollment recorded.
	Project string `json:"project,omitempty"`
}

// ReportResponse acknowledges a stored report.
type ReportResponse struct {
	Host       string `json:"host"`
	Packages   int    `json:"packages"`
	Findings   int    `json:"events"`
	ReceivedAt string `json:"received_at"`
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	// An admin re-enrolls a host whose VM lost its token; a first
	// enrollment needs an enroll token, which names the owner.
	tok, err := s.authenticate(r, patchwatch.TokenEnroll, patchwatch.TokenAdmin)
	if err != nil {
		s.metrics.rejected.WithLabelValues("auth").Inc()
		s.authFail(w, r, err)
		return
	}
	data, err := s.body(w, r)
	if err != nil {
		s.rejectBody(w, r, err)
		return
	}
	var req EnrollRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		s.fail(w, r, http.StatusBadRequest, "malformed", fmt.Errorf("decode enrollment: %w", err))
		return
	}
	name := req.InstanceName
	if name == "" {
		name = req.Hostname
	}
	if name == "" || len(name) > 255 || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00/") {
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		s.fail(w, r, http.StatusBadRequest, "malformed", errors.New("enrollment needs a hostname or instance_name"))
		return
	}
	secret, host, err := NewToken(patchwatch.TokenHost, s.now())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	host.Host, host.Note = name, "enrolled with "+tok.ID
	claim, host, err := s.tokens.Enroll(r.Context(), store.Enroll{Host: name, By: tok, HostToken: host, HostTokenHash: HashToken(secret), Now: s.now()})
	switch {
	case errors.Is(err, patchwatch.ErrHostClaimed):
		s.metrics.rejected.WithLabelValues("conflict").Inc()
		s.log.Warn("enrollment refused: host claimed by another owner", "host", name, "token", tok.ID, "owner", tok.Owner)
		s.fail(w, r, http.StatusConflict, "conflict", fmt.Errorf("host %s is enrolled by another owner", name))
		return
	case errors.Is(err, patchwatch.ErrTokenWrongHost), errors.Is(err, store.ErrAdminEnroll):
		s.metrics.rejected.WithLabelValues("forbidden").Inc()
		s.log.Warn("enrollment refused", "host", name, "token", tok.ID, "err", err)
		s.fail(w, r, http.StatusForbidden, "forbidden", err)
		return
	case errors.Is(err, patchwatch.ErrTokenUsedUp), errors.Is(err, patchwatch.ErrTokenRevoked), errors.Is(err, patchwatch.ErrTokenExpired):
		// Used up between authentication and the transaction.
		s.metrics.rejected.WithLabelValues("auth").Inc()
		s.authFail(w, r, errUnauthorized)
		return
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, "internal", fmt.Errorf("enroll %s: %w", name, err))
		return
	}
	msg := "host enrolled"
	if claim.Enrollments > 1 {
		msg = "host re-enrolled"
	}
	s.log.Info(msg, "host", name, "owner", claim.Owner, "project", claim.Project, "token", tok.ID, "token_kind", tok.Kind,
		"host_token", host.ID, "enrollments", claim.Enrollments)
	writeJSON(w, http.StatusCreated, EnrollResponse{Host: name, Token: secret, Owner: claim.Owner, Project: claim.Project})
}

func (s *Server) rejectBody(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errBusy) {
		s.busy(w, r)
		return
	}
	if errors.Is(err, errTooLarge) {
		w.Header().Set("Connection", "close")
		s.metrics.rejected.WithLabelValues("too_large").Inc()
		s.fail(w, r, http.StatusRequestEntityTooLarge, "too_large", err)
		return
	}
	s.metrics.rejected.WithLabelValues("malformed").Inc()
	s.fail(w, r, http.StatusBadRequest, "malformed", err)
}

// rejectInventory answers an inventory that fails the shared validation:
// 413 over the package limit, else status.
func (s *Server) rejectInventory(w http.ResponseWriter, r *http.Request, status int, err error) {
	if errors.Is(err, inventory.ErrTooLarge) {
		s.metrics.rejected.WithLabelValues("too_large").Inc()
		s.fail(w, r, http.StatusRequestEntityTooLarge, "too_large", err)
		return
	}
	s.metrics.rejected.WithLabelValues("invalid").Inc()
	s.fail(w, r, status, "invalid", err)
}

// intake runs what every report endpoint checks first: a host token, the
// content type, the host's rate limit, and the body within its limit.
func (s *Server) intake(w http.ResponseWriter, r *http.Request, contentType func(string) error) (patchwatch.Token, []byte, bool) {
	tok, err := s.authenticate(r, patchwatch.TokenHost)
	if err != nil {
		s.metrics.rejected.WithLabelValues("auth").Inc()
		s.authFail(w, r, err)
		return tok, nil, false
	}
	if err := contentType(r.Header.Get("Content-Type")); err != nil {
		s.metrics.rejected.WithLabelValues("content_type").Inc()
		s.fail(w, r, http.StatusUnsupportedMediaType, "content_type", err)
		return tok, nil, false
	}
	if !s.allow(tok.Host) {
		s.metrics.rejected.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", fmt.Sprint(int(s.opts.ReportInterval.Seconds())))
		s.fail(w, r, http.StatusTooManyRequests, "rate_limited", fmt.Errorf("host %s reports too often", tok.Host))
		return tok, nil, false
	}
	data, err := s.body(w, r)
	if err != nil {
		s.rejectBody(w, r, err)
		return tok, nil, false
	}
	return tok, data, true
}

// report takes a report document (docs/report.md) from a host token.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	tok, data, ok := s.intake(w, r, func(ct string) error {
		if !strings.HasPrefix(ct, "application/json") {
			return fmt.Errorf("Content-Type %q: reports are application/json", ct)
		}
		return nil
	})
	if !ok {
		return
	}
	rep, err := inventory.DecodeReport(bytes.NewReader(data))
	if err != nil {
		s.rejectInventory(w, r, http.StatusBadRequest, err)
		return
	}
	if rep.Name() != tok.Host {
		s.metrics.rejected.WithLabelValues("wrong_host").Inc()
		s.fail(w, r, http.StatusForbidden, "forbidden", fmt.Errorf("this token reports for %s, not %s", tok.Host, rep.Name()))
		return
	}
	h, err := inventory.HostFromReport(&rep, s.now())
	if err != nil {
		s.rejectInventory(w, r, http.StatusUnprocessableEntity, err)
		return
	}
	s.store(w, r, tok, h, "json")
}

// vuls takes the text body of Vuls' server mode from a host token.
func (s *Server) vuls(w http.ResponseWriter, r *http.Request) {
	tok, data, ok := s.intake(w, r, func(ct string) error {
		if ct != "" && !strings.HasPrefix(ct, "text/plain") {
			return fmt.Errorf("Content-Type %q: Vuls bodies are text/plain", ct)
		}
		return nil
	})
	if !ok {
		return
	}
	if !utf8.Valid(data) {
		s.metrics.rejected.WithLabelValues("invalid").Inc()
		s.fail(w, r, http.StatusBadRequest, "invalid", errors.New("body is not valid UTF-8"))
		return
	}
	hd := inventory.VulsHeaders{
		Family: r.Header.Get("X-Vuls-OS-Family"), Release: r.Header.Get("X-Vuls-OS-Release"),
		KernelRelease: r.Header.Get("X-Vuls-Kernel-Release"), KernelVersion: r.Header.Get("X-Vuls-Kernel-Version"),
		ServerName: r.Header.Get("X-Vuls-Server-Name"),
	}
	if hd.ServerName == "" {
		hd.ServerName = tok.Host
	}
	if hd.ServerName != tok.Host {
		s.metrics.rejected.WithLabelValues("wrong_host").Inc()
		s.fail(w, r, http.StatusForbidden, "forbidden", fmt.Errorf("this token reports for %s, not %s", tok.Host, hd.ServerName))
		return
	}
	h, err := inventory.HostFromVuls(hd, data, s.now())
	if err != nil {
		s.rejectInventory(w, r, http.StatusBadRequest, err)
		return
	}
	s.store(w, r, tok, h, "vuls")
}

// store commits a host's report and acknowledges it only afterwards.
func (s *Server) store(w http.ResponseWriter, r *http.Request, tok patchwatch.Token, h patchwatch.Host, format string) {
	// The enrollment decides the owner and the project (the host token
	// carries both); a report cannot move a host nor route its alerts.
	if h.Project != "" && h.Project != tok.Project {
		s.log.Warn("report names another project; kept under the enrollment's", "host", h.Name, "reported", h.Project, "enrolled", tok.Project)
	}
	h.Owner, h.Project = tok.Owner, tok.Project
	events, err := s.backend.PutHost(r.Context(), h)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", fmt.Errorf("store report of %s: %w", h.Name, err))
		return
	}
	s.metrics.reports.WithLabelValues(format).Inc()
	s.log.Info("report stored", "host", h.Name, "packages", len(h.Packages), "format", format, "events", len(events))
	writeJSON(w, http.StatusAccepted, ReportResponse{Host: h.Name, Packages: len(h.Packages), Findings: len(events), ReceivedAt: s.now().UTC().Format("2006-01-02T15:04:05Z07:00")})
}
