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
	ID      string    `json:"id"`
	Kind    TokenKind `json:"kind"`
	Owner   string    `json:"owner,omitempty"`
	Project string    `json:"project,omitempty"`
	// Host is the host a host token reports for, or the one host an
	// enroll token may enroll (empty: any host).
	Host      string    `json:"host,omitempty"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Expires is zero for tokens that do not expire (host tokens live as
	// long as the host; revoke them to cut a host off).
	Expires time.Time `json:"expires,omitzero"`
	Revoked bool      `json:"revoked,omitempty"`
	// Uses limits the enrollments an enroll token makes (0: no limit);
	// Used counts those made.
	Uses int `json:"uses,omitempty"`
	Used int `json:"used,omitempty"`
}

// Token errors, checked with errors.Is.
var (
	ErrTokenRevoked = errors.New("token revoked")
	ErrTokenExpired = errors.New("token expired")
	ErrTokenUsedUp  = errors.New("token used up")
	// ErrTokenWrongHost is an enroll token bound to another host.
	ErrTokenWrongHost = errors.New("token is bound to another host")
	// ErrHostClaimed is an enrollment of a host that another owner claimed.
	ErrHostClaimed = errors.New("host is enrolled by another owner")
)

// Usable reports why a token cannot be used at now, or nil.
func (t *Token) Usable(now time.Time) error {
	switch {
	case t.Revoked:
		return ErrTokenRevoked
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return ErrTokenExpired
	case t.Uses > 0 && t.Used >= t.Uses:
		return ErrTokenUsedUp
	}
	return nil
}

// MayEnroll reports why an enroll token cannot enroll host at now, or nil.
func (t *Token) MayEnroll(host string, now time.Time) error {
	if err := t.Usable(now); err != nil {
		return err
	}
	if t.Kind == TokenEnroll && t.Host != "" && t.Host != host {
		return fmt.Errorf("%w %s", ErrTokenWrongHost, t.Host)
	}
	return nil
}

// Enrollment is a host's claim: its first enrollment fixes the owner and
// project, before the host ever reports, and only that owner or an admin
// enrolls it again.
type Enrollment struct {
	Host       string    `json:"host"`
	Owner      string    `json:"owner"`
	Project    string    `json:"project,omitempty"`
	EnrolledAt time.Time `json:"enrolled_at"`
	// EnrollToken is the ID of the token of the first enrollment; Last*
	// are those of the latest one.
	EnrollToken     string    `json:"enroll_token"`
	LastEnrolledAt  time.Time `json:"last_enrolled_at"`
	LastEnrollToken string    `json:"last_enroll_token"`
	Enrollments     int       `json:"enrollments"`
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
	if t.Uses < 0 || t.Uses > 0 && t.Kind != TokenEnroll {
		return errors.New("only enroll tokens have a use limit, a positive one")
	}
	if t.Host != "" && t.Kind != TokenHost && t.Kind != TokenEnroll {
		return fmt.Errorf("a %s token is not bound to a host", t.Kind)
	}
	if t.ID == "" {
		return errors.New("token without an id")
	}
	return nil
}
