package console

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever a sign-in form's next says, the redirect stays
// on this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/hosts/web1", "//evil.example", "/\\evil", "https://evil.example", "/login", "/%2F%2Fevil", "/ok?x=//y", "\r\n/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q leaves the site", next, got)
		}
		if u, err := url.Parse(got); err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeNext(%q) = %q names a host", next, got)
		}
	})
}
