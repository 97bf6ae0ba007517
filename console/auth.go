package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// Cookie names. With TLS the session cookie takes the __Host- prefix, so
// that no subdomain or plain-HTTP page can set or shadow it.
const (
	sessionCookie = "patchwatch_session"
	loginCookie   = "patchwatch_login"
	// maxFormBytes bounds a form's body; the largest form is a silence.
	maxFormBytes = 64 << 10
)

func (c *Console) sessionCookieName() string {
	if c.opts.Secure {
		return "__Host-" + sessionCookie
	}
	return sessionCookie
}

func hashSessionID(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

// viewer returns the signed-in user of the request: a stored, unexpired
// session whose token is still usable (a revoked token ends its sessions
// at once).
func (c *Console) viewer(r *http.Request) (*viewer, bool) {
	ck, err := r.Cookie(c.sessionCookieName())
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, false
	}
	hash := hashSessionID(ck.Value)
	sess, err := c.sessions.Session(r.Context(), hash)
	if err != nil || !sess.Active(c.now()) || sess.OneTime {
		return nil, false
	}
	tok, _, err := c.sessions.TokenByID(r.Context(), sess.TokenID)
	if err != nil || tok.Usable(c.now()) != nil || tok.Kind != sess.Kind {
		return nil, false
	}
	return &viewer{Token: tok, Session: sess, hash: hash}, true
}

// signedIn runs next for a signed-in user and sends anyone else to the
// sign-in page, coming back here afterwards.
func (c *Console) signedIn(next func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.viewer(r)
		if !ok {
			target := "/login"
			if r.Method == http.MethodGet && r.URL.RequestURI() != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next(w, r, v)
	}
}

// checkCSRF refuses a form whose csrf field is not the session's
// synchronizer token.
func (c *Console) checkCSRF(next func(http.ResponseWriter, *http.Request, *viewer)) func(http.ResponseWriter, *http.Request, *viewer) {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			c.render(w, r, http.StatusBadRequest, "message", v, "Bad form", message{"The form could not be read."})
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(v.Session.CSRF)) != 1 {
			c.log.Warn("console form refused: CSRF token mismatch", "path", r.URL.Path, "token", v.Token.ID)
			c.render(w, r, http.StatusForbidden, "message", v, "Form refused",
				message{"This form did not come from your session (or the session changed). Reload the page and try again."})
			return
		}
		next(w, r, v)
	}
}

// loginPage is the sign-in form's data.
type loginPage struct {
	Next, LoginCSRF, Error string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.viewer(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, "")
}

// showLogin renders the sign-in form with a fresh login CSRF token, sent
// both as a SameSite=Strict cookie and in the form (double submit: there
// is no session yet to tie it to).
func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	csrf := c.setLoginCSRF(w)
	next := r.FormValue("next")
	c.render(w, r, status, "login", nil, "Sign in", loginPage{Next: safeNext(next), LoginCSRF: csrf, Error: problem})
}

// setLoginCSRF sets a new login CSRF cookie and returns its value for the form.
func (c *Console) setLoginCSRF(w http.ResponseWriter) string {
	csrf := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: csrf, Path: "/login", HttpOnly: true, Secure: c.opts.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return csrf
}

// loginCSRFOK reports whether a parsed sign-in form carries its cookie's token.
func loginCSRFOK(r *http.Request) bool {
	ck, err := r.Cookie(loginCookie)
	return err == nil && ck.Value != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf"))) == 1
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.showLogin(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !loginCSRFOK(r) {
		c.log.Warn("console sign-in refused: CSRF token mismatch")
		c.showLogin(w, r, http.StatusForbidden, "The sign-in form expired. Please paste your token again.")
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	tok, err := c.api.Authenticate(r.Context(), secret, patchwatch.TokenAdmin, patchwatch.TokenOwner)
	if err != nil {
		c.log.Warn("console sign-in refused", "err", err)
		c.showLogin(w, r, http.StatusUnauthorized, "That token is unknown, revoked or expired, or it is not an owner or admin token.")
		return
	}
	c.startSession(w, r, tok, r.PostForm.Get("next"))
}

// startSession stores a new session on tok, sets its cookie and sends the
// browser on to next.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, tok patchwatch.Token, next string) {
	now := c.now()
	id := rand.Text() + rand.Text()
	sess := patchwatch.Session{TokenID: tok.ID, Kind: tok.Kind, Owner: tok.Owner, CSRF: rand.Text(), CreatedAt: now.UTC(), Expires: now.Add(c.opts.SessionTTL).UTC()}
	if !tok.Expires.IsZero() && tok.Expires.Before(sess.Expires) {
		sess.Expires = tok.Expires
	}
	if err := c.sessions.PutSession(r.Context(), hashSessionID(id), sess); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	// Signing in sweeps the sessions that expired, so they do not pile up.
	if _, err := c.sessions.DeleteSessions(r.Context(), now); err != nil {
		c.log.Warn("sweep expired console sessions", "err", err)
	}
	c.log.Info("console sign-in", "token", tok.ID, "kind", tok.Kind, "owner", tok.Owner)
	// Max-Age, not Expires: the browser counts it on its own clock.
	http.SetCookie(w, &http.Cookie{Name: c.sessionCookieName(), Value: id, Path: "/", HttpOnly: true, Secure: c.opts.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: max(1, int(sess.Expires.Sub(now).Seconds()))})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1, HttpOnly: true, Secure: c.opts.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (c *Console) logoutForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	c.render(w, r, http.StatusOK, "logout", v, "Sign out", nil)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *viewer) {
	if err := c.sessions.DeleteSession(r.Context(), v.hash); err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: c.sessionCookieName(), Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.opts.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in target on this site: a path, never
// another origin ("//evil", "/\evil", "https://evil").
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}
