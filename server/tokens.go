package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/patchwatch/patchwatch"
)

// TokenAdmin is what the token endpoints need beyond TokenStore.
type TokenAdmin interface {
	Tokens(ctx context.Context) ([]patchwatch.Token, error)
	// RevokeToken returns an error wrapping store.ErrNotFound for an unknown id.
	RevokeToken(ctx context.Context, id string) error
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Kind    patchwatch.TokenKind `json:"kind"`
	Owner   string               `json:"owner,omitempty"`
	Project string               `json:"project,omitempty"`
	Note    string               `json:"note,omitempty"`
	// ExpiresIn is a Go duration ("720h"); empty means no expiry.
	ExpiresIn string `json:"expires_in,omitempty"`
	// Uses limits an enroll token's enrollments; 0 means no limit.
	Uses int `json:"uses,omitempty"`
	// Host binds an enroll token to the one host it may enroll.
	Host string `json:"host,omitempty"`
}

// TokenResponse carries a new token's secret, shown once.
type TokenResponse struct {
	Token  patchwatch.Token `json:"token"`
	Secret string           `json:"secret"`
}

// CreateToken makes and stores a token; the CLI uses it locally and the
// API for admins.
func CreateToken(ctx context.Context, st TokenStore, req TokenRequest, now time.Time) (TokenResponse, error) {
	if req.Kind == patchwatch.TokenHost {
		return TokenResponse{}, fmt.Errorf("host tokens are made by enrollment")
	}
	secret, t, err := NewToken(req.Kind, now)
	if err != nil {
		return TokenResponse{}, err
	}
	t.Owner, t.Project, t.Note, t.Uses, t.Host = req.Owner, req.Project, req.Note, req.Uses, req.Host
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return TokenResponse{}, fmt.Errorf("expires_in %q is not a positive duration", req.ExpiresIn)
		}
		t.Expires = now.Add(d).UTC()
	}
	if err := t.Validate(); err != nil {
		return TokenResponse{}, err
	}
	if err := st.PutToken(ctx, HashToken(secret), t); err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{Token: t, Secret: secret}, nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r, patchwatch.TokenAdmin); err != nil {
		s.authFail(w, r, err)
		return
	}
	data, err := s.body(w, r)
	if err != nil {
		s.rejectBody(w, r, err)
		return
	}
	var req TokenRequest
	if err := json.Unmarshal(data, &req); err != nil {
		s.fail(w, r, http.StatusBadRequest, "malformed", fmt.Errorf("decode token request: %w", err))
		return
	}
	resp, err := CreateToken(r.Context(), s.tokens, req, s.now())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "invalid", err)
		return
	}
	s.log.Info("token created", "id", resp.Token.ID, "kind", resp.Token.Kind, "owner", resp.Token.Owner, "uses", resp.Token.Uses, "host", resp.Token.Host)
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r, patchwatch.TokenAdmin); err != nil {
		s.authFail(w, r, err)
		return
	}
	ts, err := s.admin.Tokens(r.Context())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	if ts == nil {
		ts = []patchwatch.Token{}
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r, patchwatch.TokenAdmin); err != nil {
		s.authFail(w, r, err)
		return
	}
	if err := s.admin.RevokeToken(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, http.StatusNotFound, "not_found", err)
		return
	}
	s.log.Info("token revoked", "id", r.PathValue("id"))
	writeJSON(w, http.StatusOK, map[string]string{"revoked": r.PathValue("id")})
}
