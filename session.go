package patchwatch

import "time"

// Session is a signed-in web console user: the token they signed in with
// (the session ends when it is revoked or expires), what it may see, and
// the session's CSRF token. Only a hash of the session ID is stored.
type Session struct {
	TokenID string    `json:"token_id"`
	Kind    TokenKind `json:"kind"`
	Owner   string    `json:"owner,omitempty"`
	// CSRF is the synchronizer token every form of the session carries.
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	Expires   time.Time `json:"expires"`
	// OneTime marks a sign-in link sent in an alert: it is no session
	// until exchanged, once, for one.
	OneTime bool `json:"one_time,omitempty"`
}

// Active reports whether the session is still in force at now.
func (s *Session) Active(now time.Time) bool { return now.Before(s.Expires) }
