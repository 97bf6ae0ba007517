package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// SilenceStore is what the silence endpoints need.
type SilenceStore interface {
	Silences(ctx context.Context) ([]patchwatch.Silence, error)
	PutSilence(ctx context.Context, s patchwatch.Silence) error
	DeleteSilence(ctx context.Context, id string) error
}

// SilenceRequest asks for a silence (or a disabled check): the body of
// POST /api/v1/silences and what `patchwatch silence add` builds.
type SilenceRequest struct {
	// Target is advisory, cve, package or check; Value names it.
	Target string `json:"target"`
	Value  string `json:"value"`
	// Scope is host, owner or fleet; ScopeValue names the host or owner.
	Scope      string `json:"scope"`
	ScopeValue string `json:"scope_value,omitempty"`
	Reason     string `json:"reason"`
	// Expires is a date (2026-12-31), an RFC 3339 time or a duration from
	// now (30d, 72h).
	Expires   string `json:"expires"`
	CreatedBy string `json:"created_by,omitempty"`
}

// Silence makes the validated silence the request asks for, with a new ID.
func (r SilenceRequest) Silence(now time.Time) (patchwatch.Silence, error) {
	s := patchwatch.Silence{ID: patchwatch.NewSilenceID(), Target: r.Target, Value: r.Value, Scope: r.Scope, ScopeValue: r.ScopeValue,
		Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: now.UTC()}
	var err error
	if s.Expires, err = patchwatch.ParseExpiry(r.Expires, now); err != nil {
		return s, err
	}
	return s, s.Validate(now)
}

// mayManageSilence reports whether a token of owner ("" for an admin) may
// add or remove a silence: admins any, owners those of their own hosts
// and of themselves, never the fleet's.
func (s *Server) mayManageSilence(ctx context.Context, owner string, sl patchwatch.Silence) bool {
	switch {
	case owner == "":
		return true
	case sl.Scope == "owner":
		return strings.EqualFold(sl.ScopeValue, owner)
	case sl.Scope == "host":
		return s.ownsHost(ctx, owner, sl.ScopeValue)
	}
	return false
}

func (s *Server) addSilence(w http.ResponseWriter, r *http.Request) {
	tok, err := s.authenticate(r, patchwatch.TokenAdmin, patchwatch.TokenOwner)
	if err != nil {
		s.authFail(w, r, err)
		return
	}
	data, err := s.body(w, r)
	if err != nil {
		s.rejectBody(w, r, err)
		return
	}
	var req SilenceRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, r, http.StatusBadRequest, "malformed", fmt.Errorf("decode silence request: %w", err))
		return
	}
	sl, err := s.AddSilence(r.Context(), tok, req)
	switch {
	case errors.Is(err, errForbidden):
		s.fail(w, r, http.StatusForbidden, "forbidden", err)
		return
	case errors.Is(err, patchwatch.ErrInvalidSilence):
		s.fail(w, r, http.StatusBadRequest, "invalid", err)
		return
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	writeJSON(w, http.StatusCreated, sl)
}

// AddSilence validates and stores the silence that an admin or owner
// token asks for: the one path of POST /api/v1/silences and of the
// console's forms. It returns an error wrapping
// patchwatch.ErrInvalidSilence for a request that breaks the rules, and
// ErrForbidden when an owner asks beyond their own hosts.
func (s *Server) AddSilence(ctx context.Context, tok patchwatch.Token, req SilenceRequest) (patchwatch.Silence, error) {
	owner := ""
	if tok.Kind == patchwatch.TokenOwner {
		owner = tok.Owner
	}
	if req.CreatedBy == "" {
		req.CreatedBy = tok.Owner
		if req.CreatedBy == "" {
			req.CreatedBy = "admin token " + tok.ID
		}
	}
	sl, err := req.Silence(s.now())
	if err != nil {
		if !errors.Is(err, patchwatch.ErrInvalidSilence) {
			err = fmt.Errorf("%w: %w", patchwatch.ErrInvalidSilence, err)
		}
		return sl, err
	}
	if !s.mayManageSilence(ctx, owner, sl) {
		return sl, fmt.Errorf("%w: owner tokens silence only their own hosts, or themselves", errForbidden)
	}
	if err := s.silenceStore.PutSilence(ctx, sl); err != nil {
		return sl, fmt.Errorf("store silence: %w", err)
	}
	s.log.Info("silence added", "id", sl.ID, "target", sl.Target, "value", sl.Value, "scope", sl.Scope, "scope_value", sl.ScopeValue, "by", sl.CreatedBy)
	return sl, nil
}

func (s *Server) removeSilence(w http.ResponseWriter, r *http.Request) {
	tok, err := s.authenticate(r, patchwatch.TokenAdmin, patchwatch.TokenOwner)
	if err != nil {
		s.authFail(w, r, err)
		return
	}
	id := r.PathValue("id")
	switch err := s.RemoveSilence(r.Context(), tok, id); {
	case errors.Is(err, store.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "not_found", err)
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
	default:
		writeJSON(w, http.StatusOK, map[string]string{"removed": id})
	}
}

// RemoveSilence removes a silence that the token may manage: the one path
// of DELETE /api/v1/silences/ID and of the console's forms. Another
// owner's silence, like an unknown one, gives an error wrapping
// store.ErrNotFound.
func (s *Server) RemoveSilence(ctx context.Context, tok patchwatch.Token, id string) error {
	owner := ""
	if tok.Kind == patchwatch.TokenOwner {
		owner = tok.Owner
	}
	all, err := s.silenceStore.Silences(ctx)
	if err != nil {
		return err
	}
	for _, sl := range all {
		if sl.ID != id {
			continue
		}
		if !s.mayManageSilence(ctx, owner, sl) {
			break // another owner's silence looks like none
		}
		if err := s.silenceStore.DeleteSilence(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		s.log.Info("silence removed", "id", id, "by", tok.ID)
		return nil
	}
	return fmt.Errorf("silence %s: %w", id, store.ErrNotFound)
}
