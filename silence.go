package patchwatch

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Silence is an accepted-risk exception: it hides matching findings until
// it expires. It targets one advisory, CVE or package, on one host, all
// hosts of one owner, or the whole fleet.
type Silence struct {
	ID string `json:"id"`
	// Target is one of "advisory", "cve", "package" or "check" (a
	// security-guideline check, disabled); Value names it.
	Target string `json:"target"`
	Value  string `json:"value"`
	// Scope is one of "host", "owner" or "fleet"; ScopeValue names the host
	// or owner (empty for the fleet).
	Scope      string    `json:"scope"`
	ScopeValue string    `json:"scope_value,omitempty"`
	Reason     string    `json:"reason"`
	Expires    time.Time `json:"expires"`
	CreatedBy  string    `json:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// ParseExpiry reads when a silence ends: an absolute date (2026-12-31), an
// RFC 3339 time, or a duration from now (30d, 72h).
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == days {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: expiry %q is neither a date (2026-12-31), a time (RFC 3339) nor a duration (30d, 72h)", ErrInvalidSilence, s)
}

// NewSilenceID returns a random silence ID.
func NewSilenceID() string {
	return "sil-" + rand.Text()[:12]
}

// ErrInvalidSilence is returned by Silence.Validate.
var ErrInvalidSilence = errors.New("invalid silence")

// Validate checks a silence before it is stored: a reason and an expiry
// in the future are mandatory.
func (s *Silence) Validate(now time.Time) error {
	switch {
	case s.Target != "advisory" && s.Target != "cve" && s.Target != "package" && s.Target != "check":
		return fmt.Errorf("%w: target must be advisory, cve, package or check", ErrInvalidSilence)
	case s.Target == "check" && !knownCheck(s.Value):
		return fmt.Errorf("%w: no check is called %q", ErrInvalidSilence, s.Value)
	case strings.TrimSpace(s.Value) == "":
		return fmt.Errorf("%w: no %s named", ErrInvalidSilence, s.Target)
	case s.Scope != "host" && s.Scope != "owner" && s.Scope != "fleet":
		return fmt.Errorf("%w: scope must be host, owner or fleet", ErrInvalidSilence)
	case s.Scope != "fleet" && strings.TrimSpace(s.ScopeValue) == "":
		return fmt.Errorf("%w: no %s named for the scope", ErrInvalidSilence, s.Scope)
	case strings.TrimSpace(s.Reason) == "":
		return fmt.Errorf("%w: a reason is mandatory", ErrInvalidSilence)
	case !s.Expires.After(now):
		return fmt.Errorf("%w: expiry %s is not in the future", ErrInvalidSilence, s.Expires.Format(time.RFC3339))
	}
	return nil
}

// Active reports whether the silence is in force at now.
func (s *Silence) Active(now time.Time) bool { return now.Before(s.Expires) }

// Matches reports whether the silence covers finding f on a host owned by owner.
func (s *Silence) Matches(f *Finding, owner string) bool {
	switch s.Scope {
	case "host":
		if f.Host != s.ScopeValue {
			return false
		}
	case "owner":
		if !strings.EqualFold(owner, s.ScopeValue) {
			return false
		}
	}
	switch s.Target {
	case "advisory":
		return strings.EqualFold(f.Advisory, s.Value)
	case "cve":
		for _, c := range f.CVEs {
			if strings.EqualFold(c, s.Value) {
				return true
			}
		}
		return false
	case "package":
		for _, p := range f.Packages {
			if p.Name == s.Value || p.Source == s.Value {
				return true
			}
		}
	}
	return false
}

func knownCheck(id string) bool {
	_, ok := GuidelineByID(id)
	return ok
}

// MatchesCheck reports whether the silence disables a check on a host.
func (s *Silence) MatchesCheck(host, owner, check string) bool {
	if s.Target != "check" || s.Value != check {
		return false
	}
	switch s.Scope {
	case "host":
		return host == s.ScopeValue
	case "owner":
		return strings.EqualFold(owner, s.ScopeValue)
	}
	return true
}
