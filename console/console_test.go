package console_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/console/internal/fixture"
	"github.com/patchwatch/patchwatch/store"
)

// browser is a cookie-keeping HTTP client that does not follow
// redirects, so that tests see them.
type browser struct {
	t      *testing.T
	w      *fixture.World
	client *http.Client
}

func newBrowser(t *testing.T, w *fixture.World) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, w: w, client: &http.Client{Jar: jar, Transport: w.Server.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(b.w.Server.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.PostForm(b.w.Server.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the synchronizer token of the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body := b.get(path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no csrf field on %s:\n%s", path, body)
	}
	return m[1]
}

// signIn signs in with a token secret through the form.
func (b *browser) signIn(token string) *http.Response {
	b.t.Helper()
	resp, _ := b.post("/login", url.Values{"token": {token}, "csrf": {b.csrf("/login")}})
	return resp
}

func signedIn(t *testing.T, w *fixture.World, token string) *browser {
	t.Helper()
	b := newBrowser(t, w)
	if resp := b.signIn(token); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	return b
}

func TestSignIn(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	tests := []struct {
		name, token string
		want        int
	}{
		{"owner", w.AliceToken, http.StatusSeeOther},
		{"admin", w.Admin, http.StatusSeeOther},
		{"unknown", "pwt_o_tok-000000000000_AAAA", http.StatusUnauthorized},
		{"garbage", "hello", http.StatusUnauthorized},
		{"empty", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, w)
			resp := b.signIn(tt.token)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "patchwatch_session" {
					session = c
				}
			}
			if tt.want != http.StatusSeeOther {
				if session != nil {
					t.Fatal("a refused sign-in set a session cookie")
				}
				return
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.MaxAge <= 0 || session.Path != "/" {
				t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, expiring, on /", session)
			}
			// Only the hash of the session ID is stored.
			if _, err := w.Store.Session(context.Background(), []byte(session.Value)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("session found under its raw ID: %v", err)
			}
			sum := sha256.Sum256([]byte(session.Value))
			if _, err := w.Store.Session(context.Background(), sum[:]); err != nil {
				t.Errorf("session not stored under its hash: %v", err)
			}
			if resp, _ := b.get("/"); resp.StatusCode != http.StatusOK {
				t.Errorf("GET / after sign-in: %d", resp.StatusCode)
			}
		})
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	w := fixture.New(t, fixture.Options{TLS: true})
	b := newBrowser(t, w)
	resp := b.signIn(w.AliceToken)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-patchwatch_session" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Domain != "" {
		t.Fatalf("session cookie over TLS %+v: want __Host-, Secure, HttpOnly, SameSite=Strict", session)
	}
	if resp, _ := b.get("/hosts/web1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET over TLS: %d", resp.StatusCode)
	}
}

func TestSignInRefusesForgedForm(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	b := newBrowser(t, w)
	// No login cookie: a form posted from another site.
	if resp, _ := b.post("/login", url.Values{"token": {w.AliceToken}, "csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged sign-in: %d, want 403", resp.StatusCode)
	}
	b.csrf("/login") // the cookie, but the wrong field
	if resp, _ := b.post("/login", url.Values{"token": {w.AliceToken}, "csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in with a wrong csrf field: %d, want 403", resp.StatusCode)
	}
}

func TestSignInRedirectsOnlyHere(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	tests := []struct{ next, want string }{
		{"/hosts/web1", "/hosts/web1"},
		{"//evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"", "/"},
	}
	for _, tt := range tests {
		b := newBrowser(t, w)
		resp, _ := b.post("/login", url.Values{"token": {w.AliceToken}, "csrf": {b.csrf("/login")}, "next": {tt.next}})
		if got := resp.Header.Get("Location"); got != tt.want {
			t.Errorf("next=%q: Location %q, want %q", tt.next, got, tt.want)
		}
	}
}

func TestSignedOutIsSentToSignIn(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	b := newBrowser(t, w)
	for _, path := range []string{"/", "/hosts/web1", "/findings", "/advisories/USN-6188-1", "/search?q=web", "/owners/alice@example.org"} {
		resp, _ := b.get(path)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("GET %s signed out: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, _ := b.post("/hosts/web1/silences", url.Values{"target": {"advisory"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST signed out: %d, want a redirect to sign in", resp.StatusCode)
	}
}

func TestLogoutAndRevocationEndSessions(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	b := signedIn(t, w, w.AliceToken)
	if resp, _ := b.post("/logout", url.Values{"csrf": {"wrong"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without the csrf token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.post("/logout", url.Values{"csrf": {b.csrf("/")}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET / after logout: %d, want a redirect to sign in", resp.StatusCode)
	}

	b = signedIn(t, w, w.AliceToken)
	id := strings.SplitN(w.AliceToken, "_", 4)[2]
	if err := w.Store.RevokeToken(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET / after the token was revoked: %d, want a redirect to sign in", resp.StatusCode)
	}
	if resp := newBrowser(t, w).signIn(w.AliceToken); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-in with a revoked token: %d", resp.StatusCode)
	}
	// Revoking deleted the stored session too.
	u, _ := url.Parse(w.Server.URL)
	if len(b.client.Jar.Cookies(u)) == 0 {
		t.Fatal("the browser lost its cookie")
	}
	for _, c := range b.client.Jar.Cookies(u) {
		sum := sha256.Sum256([]byte(c.Value))
		if _, err := w.Store.Session(context.Background(), sum[:]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the revoked token's session %s is still stored: %v", c.Name, err)
		}
	}
}

// TestOwnerSeesOnlyTheirHosts: bob's host answers alice as an unknown one.
func TestOwnerSeesOnlyTheirHosts(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	alice := signedIn(t, w, w.AliceToken)
	_, home := alice.get("/")
	if !strings.Contains(home, "/hosts/web1") || !strings.Contains(home, "/hosts/db1") || strings.Contains(home, "build1") ||
		!strings.Contains(home, "reboot</span> since 2026-11-25 12:00 UTC") || !strings.Contains(home, "ssh-password-auth") {
		t.Errorf("alice's host list:\n%s", home)
	}
	if _, db1 := alice.get("/hosts/db1"); !strings.Contains(db1, "reboot needed</span> since 2026-11-25 12:00 UTC") {
		t.Errorf("db1's page does not say it waits for a reboot since its report:\n%s", db1)
	}
	tests := []struct {
		path string
		want int
	}{
		{"/hosts/build1", http.StatusNotFound},
		{"/hosts/nosuchhost", http.StatusNotFound},
		{"/findings?host=build1", http.StatusNotFound},
		{"/findings?owner=bob@example.org", http.StatusForbidden},
		{"/owners/bob@example.org", http.StatusForbidden},
		{"/hosts/web1", http.StatusOK},
		{"/advisories/USN-6188-1", http.StatusOK},
		{"/advisories/USN-0000-0", http.StatusNotFound},
	}
	for _, tt := range tests {
		resp, body := alice.get(tt.path)
		if resp.StatusCode != tt.want {
			t.Errorf("alice GET %s: %d, want %d", tt.path, resp.StatusCode, tt.want)
		}
		if strings.Contains(body, "build1") {
			t.Errorf("alice GET %s shows bob's host", tt.path)
		}
	}
	for _, path := range []string{"/advisories/USN-6188-1", "/search?q=build", "/search?q=CVE-2023-2650", "/findings", "/hosts?owner=bob@example.org"} {
		if _, body := alice.get(path); strings.Contains(body, "build1") {
			t.Errorf("alice GET %s shows bob's host", path)
		}
	}
	// Bob may not silence alice's findings either.
	bob := signedIn(t, w, w.BobToken)
	resp, _ := bob.post("/hosts/web1/silences", url.Values{"csrf": {bob.csrf("/")}, "target": {"advisory"}, "value": {"USN-9999-1"},
		"reason": {"mine now"}, "expires": {"30d"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob silences alice's host: %d, want 404", resp.StatusCode)
	}
	if sl, _ := w.Store.Silences(context.Background()); len(sl) != 0 {
		t.Errorf("silences stored: %+v", sl)
	}
}

func TestHostPage(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	alice := signedIn(t, w, w.AliceToken)
	resp, body := alice.get("/hosts/web1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /hosts/web1: %d", resp.StatusCode)
	}
	for _, want := range []string{
		"USN-6188-1", "USN-9999-1", // both findings
		"3.0.2-0ubuntu1.9</td><td>3.0.2-0ubuntu1.10", // installed → fixed
		"sudo apt-get",      // the command
		"ssh-password-auth", // the failing check
		"PasswordAuthentication yes",
		`href="/api/v1/findings?host=web1"`, // the JSON
		`name="target" value="check"`,       // a form to disable a check
	} {
		if !strings.Contains(body, want) {
			t.Errorf("host page lacks %q", want)
		}
	}
	// Most urgent first: the critical bash advisory before the medium OpenSSL one.
	if strings.Index(body, `id="finding-USN-9999-1"`) > strings.Index(body, `id="finding-USN-6188-1"`) {
		t.Error("findings not most urgent first")
	}
}

// liveMarkup is hostile text that would run: a tag, an event handler
// inside a tag, a javascript: link. Escaped, it is only text.
var liveMarkup = regexp.MustCompile(`(?i)<script>|<img|<[^>]*\sonerror=|href="javascript:`)

func TestHostileAdvisoryTextIsEscaped(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	admin := signedIn(t, w, w.Admin)
	for _, path := range []string{"/hosts/web1", "/advisories/USN-9999-1", "/", "/findings", "/search?q=USN-9999", "/owners/alice@example.org", "/hosts"} {
		resp, body := admin.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		if m := liveMarkup.FindString(body); m != "" {
			i := strings.Index(body, m)
			t.Errorf("GET %s: live %q in %q", path, m, body[max(0, i-80):min(len(body), i+80)])
		}
	}
	_, body := admin.get("/advisories/USN-9999-1")
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;") || !strings.Contains(body, "&lt;img src=x") {
		t.Errorf("hostile text not shown escaped:\n%s", body)
	}
}

func TestSilenceForm(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	alice := signedIn(t, w, w.AliceToken)
	csrf := alice.csrf("/hosts/web1")
	form := func(token, reason string) url.Values {
		return url.Values{"csrf": {token}, "target": {"advisory"}, "value": {"USN-9999-1"}, "scope": {"host"}, "reason": {reason}, "expires": {"30d"}}
	}
	tests := []struct {
		name string
		form url.Values
		want int
	}{
		{"no csrf", form("", "patched by hand"), http.StatusForbidden},
		{"wrong csrf", form("x"+csrf, "patched by hand"), http.StatusForbidden},
		{"no reason", form(csrf, ""), http.StatusBadRequest},
		{"past expiry", url.Values{"csrf": {csrf}, "target": {"advisory"}, "value": {"USN-9999-1"}, "reason": {"r"}, "expires": {"2020-01-01"}}, http.StatusBadRequest},
		{"fleet by an owner", url.Values{"csrf": {csrf}, "target": {"advisory"}, "value": {"USN-9999-1"}, "scope": {"fleet"}, "reason": {"r"}, "expires": {"30d"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, _ := alice.post("/hosts/web1/silences", tt.form); resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if sl, _ := w.Store.Silences(context.Background()); len(sl) != 0 {
				t.Fatalf("a refused form stored %+v", sl)
			}
		})
	}
	resp, _ := alice.post("/hosts/web1/silences", form(csrf, "bash is not reachable from outside; patched with the next image"))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/hosts/web1?silenced=sil-") {
		t.Fatalf("silence: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := alice.get(resp.Header.Get("Location"))
	if strings.Contains(body, `id="finding-USN-9999-1"`) || !strings.Contains(body, "bash is not reachable from outside") {
		t.Errorf("the silenced finding is still open, or its silence is not shown:\n%s", body)
	}
	sl, _ := w.Store.Silences(context.Background())
	if len(sl) != 1 || sl[0].Scope != "host" || sl[0].ScopeValue != "web1" || sl[0].CreatedBy != fixture.Alice {
		t.Errorf("stored silences %+v", sl)
	}
	// The API sees the same silence.
	req, _ := http.NewRequest("GET", w.Server.URL+"/api/v1/findings?host=web1", nil)
	req.Header.Set("Authorization", "Bearer "+w.AliceToken)
	api, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(api.Body)
	api.Body.Close()
	if strings.Contains(string(data), "USN-9999-1") {
		t.Error("the API still lists the silenced finding")
	}
}

func TestPagination(t *testing.T) {
	w := fixture.New(t, fixture.Options{Hosts: 7, PageSize: 3}) // 10 hosts
	admin := signedIn(t, w, w.Admin)
	rows := regexp.MustCompile(`<td data-label="Host"><a href="/hosts/`)
	tests := []struct {
		page      string
		rows      int
		prev, nxt bool
	}{
		{"", 3, false, true},
		{"?page=2", 3, true, true},
		{"?page=4", 1, true, false},
		{"?page=99", 1, true, false},
		{"?page=-1", 3, false, true},
	}
	for _, tt := range tests {
		resp, body := admin.get("/hosts" + tt.page)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /hosts%s: %d", tt.page, resp.StatusCode)
		}
		if got := len(rows.FindAllString(body, -1)); got != tt.rows {
			t.Errorf("/hosts%s: %d rows, want %d", tt.page, got, tt.rows)
		}
		if strings.Contains(body, `rel="prev"`) != tt.prev || strings.Contains(body, `rel="next"`) != tt.nxt {
			t.Errorf("/hosts%s: prev/next links wrong", tt.page)
		}
		if !strings.Contains(body, `href="/api/v1/hosts"`) {
			t.Errorf("/hosts%s: no JSON link", tt.page)
		}
	}
	// A filter stays on the next page's link and on the JSON link.
	_, body := admin.get("/findings?urgency=medium&owner=alice@example.org")
	if !strings.Contains(body, `href="/findings?owner=alice%40example.org&amp;page=2&amp;urgency=medium"`) ||
		!strings.Contains(body, `href="/api/v1/findings?owner=alice%40example.org&amp;urgency=medium"`) {
		t.Errorf("filters lost in the links:\n%s", body)
	}
}

func TestAdminPages(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	admin := signedIn(t, w, w.Admin)
	_, dash := admin.get("/")
	segments := regexp.MustCompile(`<rect class="segment" x="\d+" y="\d+" width="\d+" height="\d+"`).FindAllString(dash, -1)
	if len(segments) < 15 {
		t.Errorf("the chart has %d bar segments, want at least one per day of 15", len(segments))
	}
	for _, want := range []string{"Overdue by owner", "Waiting for a reboot", "USN-6188-1", "Guideline compliance", "ssh-password-auth",
		"<td data-label=\"Feed\">dsa</td>", "503 Service Unavailable", ">stale</span>", ">fresh</span>", "1 queued, 1 failed", "550 5.1.1 mailbox unavailable"} {
		if !strings.Contains(dash, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	_, adv := admin.get("/advisories/USN-6188-1")
	if !strings.Contains(adv, "/hosts/web1") || !strings.Contains(adv, "/hosts/build1") || strings.Contains(adv, "/hosts/db1") {
		t.Errorf("advisory page's affected hosts wrong:\n%s", adv)
	}
	_, owner := admin.get("/owners/alice@example.org")
	if !strings.Contains(owner, "/hosts/web1") || strings.Contains(owner, "build1") {
		t.Errorf("owner page wrong:\n%s", owner)
	}
	if resp, _ := admin.get("/owners/nobody@example.org"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown owner: %d", resp.StatusCode)
	}
	if resp, _ := admin.get("/search?q=build1"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hosts/build1" {
		t.Errorf("a search for one host goes to it: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, found := admin.get("/search?q=cve-2023-2650")
	if !strings.Contains(found, `href="/advisories/USN-6188-1"`) {
		t.Errorf("search by CVE:\n%s", found)
	}
	if resp, _ := admin.get("/findings?urgency=extreme"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad filter: %d", resp.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	admin := signedIn(t, w, w.Admin)
	inline := regexp.MustCompile(`<script(\s[^>]*)?>[^<]`)
	for _, path := range []string{"/", "/hosts/web1", "/login", "/nowhere"} {
		resp, body := admin.get(path)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if inline.MatchString(body) {
			t.Errorf("GET %s has an inline script", path)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s headers %v", path, resp.Header)
		}
	}
	if resp, _ := admin.get("/static/copy.js"); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("copy.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The API keeps answering beside the console.
	if resp, body := admin.get("/healthz"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "ok") {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
	if resp, _ := admin.get("/api/v1/nothing"); resp.StatusCode != http.StatusNotFound || strings.Contains(resp.Header.Get("Content-Type"), "html") {
		t.Errorf("unknown API path: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestRemoveSilence(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	ctx := context.Background()
	alice := signedIn(t, w, w.AliceToken)
	csrf := alice.csrf("/hosts/web1")
	resp, _ := alice.post("/hosts/web1/silences", url.Values{"csrf": {csrf}, "target": {"advisory"}, "value": {"USN-9999-1"},
		"reason": {"patched by hand"}, "expires": {"30d"}})
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/hosts/web1?silenced=")
	_, page := alice.get("/hosts/web1")
	if !strings.Contains(page, `action="/hosts/web1/silences/`+id+`/remove"`) {
		t.Fatalf("no button to remove %s:\n%s", id, page)
	}
	// A fleet silence by an admin shows, but alice may not remove it.
	admin := signedIn(t, w, w.Admin)
	resp, _ = admin.post("/hosts/web1/silences", url.Values{"csrf": {admin.csrf("/")}, "target": {"check"}, "value": {"ssh-password-auth"},
		"scope": {"fleet"}, "reason": {"bastion hosts"}, "expires": {"30d"}})
	fleetID := strings.TrimPrefix(resp.Header.Get("Location"), "/hosts/web1?silenced=")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(fleetID, "sil-") {
		t.Fatalf("admin fleet silence: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	tests := []struct {
		name, id, csrf string
		want           int
	}{
		{"no csrf", id, "", http.StatusForbidden},
		{"the fleet's", fleetID, csrf, http.StatusNotFound},
		{"unknown", "sil-nothing", csrf, http.StatusNotFound},
		{"her own", id, csrf, http.StatusSeeOther},
	}
	for _, tt := range tests {
		if resp, _ := alice.post("/hosts/web1/silences/"+tt.id+"/remove", url.Values{"csrf": {tt.csrf}}); resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	left, _ := w.Store.Silences(ctx)
	if len(left) != 1 || left[0].ID != fleetID {
		t.Errorf("silences left %+v, want the fleet's", left)
	}
	if _, page := alice.get("/hosts/web1"); !strings.Contains(page, `id="finding-USN-9999-1"`) {
		t.Error("the finding is not open again")
	}
	// Bob may not remove alice's silences through his own host's page.
	resp, _ = alice.post("/hosts/web1/silences", url.Values{"csrf": {csrf}, "target": {"advisory"}, "value": {"USN-9999-1"},
		"reason": {"again"}, "expires": {"30d"}})
	again := strings.TrimPrefix(resp.Header.Get("Location"), "/hosts/web1?silenced=")
	bob := signedIn(t, w, w.BobToken)
	if resp, _ := bob.post("/hosts/build1/silences/"+again+"/remove", url.Values{"csrf": {bob.csrf("/")}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob removes alice's silence: %d", resp.StatusCode)
	}
}
