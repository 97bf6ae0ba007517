// Package redact keeps secrets (SMTP passwords, Slack webhook URLs and
// tokens, API tokens) out of error text and logs. A secret is matched
// case-insensitively and in the forms it takes on its way into a message:
// URL-escaped (query or path, once or twice, either hex case), JSON-escaped,
// and, for a URL, without its scheme or as its path alone, since "HTTP://"
// and "https://" name the same webhook.
package redact

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces every secret.
const Mask = "[redacted]"

// minPathSecret is the shortest URL path redacted on its own: a webhook's
// path is its secret, but "/" or "/api" is not.
const minPathSecret = 8

// Redactor removes a fixed set of secrets from text.
type Redactor struct {
	re *regexp.Regexp // nil: no secrets
}

// New returns a redactor of the non-empty secrets.
func New(secrets ...string) *Redactor {
	forms := map[string]bool{}
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		for _, f := range variants(s) {
			if f != "" {
				forms[f] = true
			}
		}
	}
	if len(forms) == 0 {
		return &Redactor{}
	}
	list := make([]string, 0, len(forms))
	for f := range forms {
		list = append(list, f)
	}
	// Longest first: the alternation takes the first that matches.
	slices.SortFunc(list, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	quoted := make([]string, len(list))
	for i, f := range list {
		quoted[i] = regexp.QuoteMeta(f)
	}
	return &Redactor{re: regexp.MustCompile("(?i)" + strings.Join(quoted, "|"))}
}

// variants returns the forms of s to look for.
func variants(s string) []string {
	base := []string{s}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		_, rest, _ := strings.Cut(s, "://")
		base = append(base, rest)
		if len(u.EscapedPath()) >= minPathSecret {
			base = append(base, u.EscapedPath(), u.Path)
		}
	}
	var out []string
	for _, b := range base {
		q, p := url.QueryEscape(b), url.PathEscape(b)
		out = append(out, b, q, p, url.QueryEscape(q), lowerHex(q), lowerHex(p), jsonEscape(b))
	}
	return out
}

// lowerHex rewrites %2F as %2f; (?i) covers the rest of the text, but the
// pattern is built once, from the upper-case form url gives.
func lowerHex(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			b.WriteByte('%')
			b.WriteString(strings.ToLower(s[i+1 : i+3]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// String returns s with every secret masked.
func (r *Redactor) String(s string) string {
	if r == nil || r.re == nil {
		return s
	}
	return r.re.ReplaceAllLiteralString(s, Mask)
}

// Error returns err with its text redacted; errors.Is and errors.As still
// see the original chain. A nil err stays nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return redacted{msg, err}
}

type redacted struct {
	msg string
	err error
}

func (e redacted) Error() string { return e.msg }
func (e redacted) Unwrap() error { return e.err }

// Handler wraps h so that log messages and attribute values (errors and
// strings, in groups too) are redacted.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	if r == nil || r.re == nil {
		return h
	}
	return &handler{r: r, next: h}
}

type handler struct {
	r    *Redactor
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &handler{r: h.r, next: h.next.WithAttrs(clean)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{r: h.r, next: h.next.WithGroup(name)}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.String(err.Error()))
		}
		return slog.String(a.Key, h.r.String(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
