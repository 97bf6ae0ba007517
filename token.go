package patchwatch

import (
	"errors"
	"fmt"
	"time"
)

// TokenKind is what a token may do.
type TokenKind string

// Token kinds: admin tokens see everything; owner tokens see only their
// owner's hosts; enroll tokens only enroll a VM (scoped to an owner and
// project); host tokens only report for their host.
const (
	TokenAdmin  TokenKind = "admin"
	TokenOwner  TokenKind = "owner"
	TokenEnroll TokenKind = "enroll"
	TokenHost   TokenKind = "host"
)

// Token is an API credential. Only its hash is stored; the secret is shown
// once, when it is created.
type Token struct {
	ID        string    `json:"id"`
	Kind      TokenKind `json:"kind"`
	Owner     string    `json:"owner,omitempty"`
	Project   string    `json:"project,omitempty"`
	Host      string    `json:"host,omitempty"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Expires is zero for tokens that do not expire (host tokens live as
	// long as the host; revoke them to cut a host off).
	Expires time.Time `json:"expires,omitzero"`
	Revoked bool      `json:"revoked,omitempty"`
}

// Token errors, checked with errors.Is.
var (
	ErrTokenRevoked = errors.New("token revoked")
	ErrTokenExpired = errors.New("token expired")
)

// Usable reports why a token cannot be used at now, or nil.
func (t *Token) Usable(now time.Time) error {
	switch {
	case t.Revoked:
		return ErrTokenRevoked
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return ErrTokenExpired
	}
	return nil
}

// Validate checks a token before it is stored.
func (t *Token) Validate() error {
	switch t.Kind {
	case TokenAdmin:
	case TokenOwner, TokenEnroll:
		if t.Owner == "" {
			return fmt.Errorf("a %s token needs an owner", t.Kind)
		}
	case TokenHost:
		if t.Host == "" {
			return errors.New("a host token needs a host")
		}
	default:
		return fmt.Errorf("unknown token kind %q", t.Kind)
	}
	if t.ID == "" {
		return errors.New("token without an id")
	}
	return nil
}
