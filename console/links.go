package console

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// LinkStore is what one-time sign-in links need: the owner's tokens, to
// find one to sign in with, and the session store to keep the link in.
type LinkStore interface {
	Tokens(ctx context.Context) ([]patchwatch.Token, error)
	PutSession(ctx context.Context, hash []byte, s patchwatch.Session) error
}

// LoginLinks makes the one-time sign-in links of owner alerts
// (notify.console_login_links). A link stands on the owner's newest
// usable owner token: the session it opens ends when that token is
// revoked, as a session signed in with the token would.
type LoginLinks struct {
	store LinkStore
	base  string
	ttl   time.Duration
	now   func() time.Time
}

// NewLoginLinks returns a link maker for the console at base; a link
// works once, within ttl (0 means 72h); clock nil means time.Now.
func NewLoginLinks(store LinkStore, base string, ttl time.Duration, clock func() time.Time) *LoginLinks {
	if ttl == 0 {
		ttl = 72 * time.Hour
	}
	if clock == nil {
		clock = time.Now
	}
	return &LoginLinks{store: store, base: strings.TrimSuffix(base, "/"), ttl: ttl, now: clock}
}

// LoginLink returns a new one-time sign-in link for owner, or "" when the
// owner holds no usable owner token.
func (l *LoginLinks) LoginLink(ctx context.Context, owner string) (string, error) {
	tokens, err := l.store.Tokens(ctx)
	if err != nil {
		return "", fmt.Errorf("list tokens: %w", err)
	}
	now := l.now()
	tokens = slices.DeleteFunc(tokens, func(t patchwatch.Token) bool {
		return t.Kind != patchwatch.TokenOwner || !strings.EqualFold(t.Owner, owner) || t.Usable(now) != nil
	})
	if len(tokens) == 0 {
		return "", nil
	}
	tok := slices.MaxFunc(tokens, func(a, b patchwatch.Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	secret := rand.Text() + rand.Text()
	link := patchwatch.Session{TokenID: tok.ID, Kind: tok.Kind, Owner: tok.Owner, CreatedAt: now.UTC(), Expires: now.Add(l.ttl).UTC(), OneTime: true}
	if !tok.Expires.IsZero() && tok.Expires.Before(link.Expires) {
		link.Expires = tok.Expires
	}
	if err := l.store.PutSession(ctx, hashSessionID(secret), link); err != nil {
		return "", fmt.Errorf("store sign-in link: %w", err)
	}
	return l.base + "/login/link?t=" + url.QueryEscape(secret), nil
}

// linkPage is the one-time link's confirmation form.
type linkPage struct{ Link, LoginCSRF string }

// linkForm asks the owner to confirm: a GET never uses the link up, so
// that mail scanners that fetch links do not burn it.
func (c *Console) linkForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "link", nil, "Sign in", linkPage{Link: r.URL.Query().Get("t"), LoginCSRF: c.setLoginCSRF(w)})
}

// exchangeLink uses a one-time link up and opens a session on its token.
func (c *Console) exchangeLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.showLogin(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !loginCSRFOK(r) {
		c.showLogin(w, r, http.StatusForbidden, "The sign-in form expired. Open the link from your message again.")
		return
	}
	secret := r.PostForm.Get("t")
	if secret == "" || len(secret) > 128 {
		c.showLogin(w, r, http.StatusUnauthorized, "This sign-in link is not valid.")
		return
	}
	link, err := c.sessions.TakeSession(r.Context(), hashSessionID(secret))
	bad := err != nil || !link.OneTime || !link.Active(c.now())
	var tok patchwatch.Token
	if !bad {
		tok, _, err = c.sessions.TokenByID(r.Context(), link.TokenID)
		bad = err != nil || tok.Usable(c.now()) != nil || tok.Kind != patchwatch.TokenOwner
	}
	if bad {
		c.log.Warn("console sign-in link refused")
		c.showLogin(w, r, http.StatusUnauthorized, "This sign-in link was used already, has expired, or its token was revoked. Sign in with your token instead.")
		return
	}
	c.startSession(w, r, tok, "/")
}
