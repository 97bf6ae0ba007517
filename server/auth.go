package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// TokenStore keeps tokens with the hash of their secret.
type TokenStore interface {
	// TokenByID returns a token and the hash of its secret, or an error
	// wrapping store.ErrNotFound.
	TokenByID(ctx context.Context, id string) (patchwatch.Token, []byte, error)
	PutToken(ctx context.Context, hash []byte, t patchwatch.Token) error
	// Enroll claims or re-enrolls a host in one transaction; it returns
	// errors wrapping patchwatch.ErrHostClaimed, ErrTokenUsedUp,
	// ErrTokenWrongHost, ErrTokenRevoked, ErrTokenExpired or
	// store.ErrAdminEnroll when the enrollment is refused.
	Enroll(ctx context.Context, e store.Enroll) (patchwatch.Enrollment, patchwatch.Token, error)
}

// tokenPrefix marks patchwatch secrets, so that secret scanners find them.
const tokenPrefix = "pwt_"

// HashToken returns the stored form of a secret.
func HashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// NewToken creates a token of kind and returns the secret, shown once,
// with the token to store under HashToken(secret).
func NewToken(kind patchwatch.TokenKind, now time.Time) (string, patchwatch.Token, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", patchwatch.Token{}, err
	}
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		return "", patchwatch.Token{}, err
	}
	t := patchwatch.Token{ID: "tok-" + hex.EncodeToString(id), Kind: kind, CreatedAt: now.UTC()}
	// The ID travels in the secret so that the lookup is by ID and the
	// secret itself is only ever compared, in constant time, as a hash.
	secret := tokenPrefix + string(kind[0]) + "_" + t.ID + "_" + base64.RawURLEncoding.EncodeToString(raw)
	return secret, t, nil
}

// errUnauthorized and errForbidden are what authenticate reports; the
// client is told no more than which of the two it is.
var (
	errUnauthorized = errors.New("missing, unknown, revoked or expired token")
	errForbidden    = errors.New("this token may not do that")
)

// ErrUnauthorized and ErrForbidden are what Authenticate returns, for
// callers outside the API (the console) to check with errors.Is.
var (
	ErrUnauthorized = errUnauthorized
	ErrForbidden    = errForbidden
)

// authenticate finds the request's bearer token and checks that it is
// usable and of one of the kinds allowed.
func (s *Server) authenticate(r *http.Request, allowed ...patchwatch.TokenKind) (patchwatch.Token, error) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return patchwatch.Token{}, errUnauthorized
	}
	return s.Authenticate(r.Context(), secret, allowed...)
}

// Authenticate checks a token secret, from a bearer header or the
// console's sign-in form: it returns the token when it is known, usable
// and of one of the kinds allowed; otherwise ErrUnauthorized, or
// ErrForbidden with the token for a usable token of another kind.
func (s *Server) Authenticate(ctx context.Context, secret string, allowed ...patchwatch.TokenKind) (patchwatch.Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 256 {
		return patchwatch.Token{}, errUnauthorized
	}
	parts := strings.SplitN(secret, "_", 4)
	if len(parts) != 4 {
		return patchwatch.Token{}, errUnauthorized
	}
	t, stored, err := s.tokens.TokenByID(ctx, parts[2])
	if err != nil || subtle.ConstantTimeCompare(HashToken(secret), stored) != 1 {
		return patchwatch.Token{}, errUnauthorized
	}
	if err := t.Usable(s.now()); err != nil {
		return patchwatch.Token{}, errUnauthorized
	}
	if !slices.Contains(allowed, t.Kind) {
		return t, errForbidden
	}
	guardOf(ctx).authenticate()
	return t, nil
}
