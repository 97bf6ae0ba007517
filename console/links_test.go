package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/console"
	"github.com/patchwatch/patchwatch/console/internal/fixture"
)

var linkField = regexp.MustCompile(`name="t" value="([^"]+)"`)

// follow opens a sign-in link as a mail reader would and confirms it.
func (b *browser) follow(link string) *http.Response {
	b.t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, body := b.get(u.RequestURI())
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d", u.RequestURI(), resp.StatusCode)
	}
	m := linkField.FindStringSubmatch(body)
	if m == nil || m[1] != u.Query().Get("t") {
		b.t.Fatalf("the link page does not carry the link:\n%s", body)
	}
	resp, _ = b.post("/login/link", url.Values{"t": {m[1]}, "csrf": {csrfField.FindStringSubmatch(body)[1]}})
	return resp
}

func TestOneTimeLoginLink(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	ctx := context.Background()
	links := console.NewLoginLinks(w.Store, w.Server.URL+"/", time.Hour, func() time.Time { return w.Now })
	link, err := links.LoginLink(ctx, fixture.Alice)
	if err != nil || !strings.HasPrefix(link, w.Server.URL+"/login/link?t=") {
		t.Fatalf("link %q %v", link, err)
	}
	if none, err := links.LoginLink(ctx, "carol@example.org"); none != "" || err != nil {
		t.Errorf("an owner without a token got a link %q %v", none, err)
	}

	// Opening the link uses nothing up; confirming it signs alice in.
	b := newBrowser(t, w)
	if resp, _ := b.get(strings.TrimPrefix(link, w.Server.URL)); resp.StatusCode != http.StatusOK {
		t.Fatalf("a scanner's GET: %d", resp.StatusCode)
	}
	if resp := b.follow(link); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("exchange: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, home := b.get("/"); !strings.Contains(home, "/hosts/web1") || strings.Contains(home, "build1") {
		t.Errorf("alice's hosts after the link:\n%s", home)
	}
	// Once only.
	if resp := newBrowser(t, w).follow(link); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the link worked twice: %d", resp.StatusCode)
	}
	// The link is no session cookie.
	second, _ := links.LoginLink(ctx, fixture.Alice)
	forged := newBrowser(t, w)
	su, _ := url.Parse(w.Server.URL)
	secret, _ := url.Parse(second)
	forged.client.Jar.SetCookies(su, []*http.Cookie{{Name: "patchwatch_session", Value: secret.Query().Get("t")}})
	if resp, _ := forged.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a link used as a session cookie: %d", resp.StatusCode)
	}
	// Expired.
	w.Now = w.Now.Add(2 * time.Hour)
	if resp := newBrowser(t, w).follow(second); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an expired link: %d", resp.StatusCode)
	}
}

func TestLoginLinkEndsWithItsToken(t *testing.T) {
	w := fixture.New(t, fixture.Options{})
	ctx := context.Background()
	links := console.NewLoginLinks(w.Store, w.Server.URL, 0, func() time.Time { return w.Now })
	link, _ := links.LoginLink(ctx, fixture.Alice)
	if err := w.Store.RevokeToken(ctx, strings.SplitN(w.AliceToken, "_", 4)[2]); err != nil {
		t.Fatal(err)
	}
	if resp := newBrowser(t, w).follow(link); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a link on a revoked token: %d", resp.StatusCode)
	}
	if again, _ := links.LoginLink(ctx, fixture.Alice); again != "" {
		t.Errorf("a link made on a revoked token: %s", again)
	}
}
