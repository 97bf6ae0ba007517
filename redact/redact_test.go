package redact_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/redact"
)

const (
	webhook  = "https://hooks.slack.com/services/T0AAA1111/B0BBB2222/Xy7QpLmN0aBcDeFgHiJkLmNo"
	botToken = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
	password = "S3cr3t/p@ss+word&more"
	apiToken = "pwt_a_tok-0123456789ab_QmFzZTY0U2VjcmV0VmFsdWVIZXJlMTIzNDU2Nzg5"
)

// TestSecretForms: every form a secret takes in an error or a log line
// is masked.
func TestSecretForms(t *testing.T) {
	r := redact.New(webhook, botToken, password, apiToken, "")
	tests := []struct{ name, text, secretPart string }{
		{"webhook as given", "post " + webhook + ": EOF", "Xy7QpLmN0a"},
		{"webhook upper-case scheme", "Post \"HTTP://hooks.slack.com/services/T0AAA1111/B0BBB2222/Xy7QpLmN0aBcDeFgHiJkLmNo\": dial tcp", "Xy7QpLmN0a"},
		{"webhook mixed case", "POST HTTPS://HOOKS.SLACK.COM/services/T0AAA1111/B0BBB2222/Xy7QpLmN0aBcDeFgHiJkLmNo failed", "Xy7QpLmN0a"},
		{"webhook http instead of https", "http://hooks.slack.com/services/T0AAA1111/B0BBB2222/Xy7QpLmN0aBcDeFgHiJkLmNo", "Xy7QpLmN0a"},
		{"webhook without scheme", "host hooks.slack.com/services/T0AAA1111/B0BBB2222/Xy7QpLmN0aBcDeFgHiJkLmNo", "Xy7QpLmN0a"},
		{"webhook path alone", "GET /services/T0AAA1111/B0BBB2222/Xy7QpLmN0aBcDeFgHiJkLmNo 404", "Xy7QpLmN0a"},
		{"webhook query-escaped", "redirect=" + url.QueryEscape(webhook), "Xy7QpLmN0a"},
		{"webhook query-escaped lower hex", "redirect=" + strings.ToLower(url.QueryEscape(webhook)), "xy7qplmn0a"},
		{"webhook escaped twice", "u=" + url.QueryEscape(url.QueryEscape(webhook)), "Xy7QpLmN0a"},
		{"bot token", "invalid_auth for " + botToken, "AbCdEfGhIj"},
		{"bot token upper case", "token " + strings.ToUpper(botToken), "ABCDEFGHIJ"},
		{"password", "535 auth failed for " + password, "S3cr3t"},
		{"password percent-encoded", "smtp://user:" + url.QueryEscape(password) + "@relay", "S3cr3t"},
		{"password path-escaped", "/" + url.PathEscape(password), "S3cr3t"},
		{"password JSON-escaped", `{"pw":"S3cr3t/p@ss+word\u0026more"}`, "S3cr3t"},
		{"API token", "Bearer " + apiToken, "QmFzZTY0U2"},
		{"API token percent-encoded", "token=" + url.QueryEscape(apiToken), "QmFzZTY0U2"},
		{"API token mixed case", "Bearer " + strings.ToUpper(apiToken[:20]) + apiToken[20:], "QmFzZTY0U2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(strings.ToLower(tt.text), strings.ToLower(tt.secretPart)) {
				t.Fatalf("bad case: %q does not hold the secret", tt.text)
			}
			got := r.String(tt.text)
			if strings.Contains(strings.ToLower(got), strings.ToLower(tt.secretPart)) || !strings.Contains(got, redact.Mask) {
				t.Errorf("String(%q) = %q", tt.text, got)
			}
			err := r.Error(fmt.Errorf("send: %w: %s", fs.ErrNotExist, tt.text))
			if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.secretPart)) || !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Error() = %v (errors.Is %v)", err, errors.Is(err, fs.ErrNotExist))
			}
		})
	}
	if got := r.String("nothing secret here: hooks.slack.com/api"); got != "nothing secret here: hooks.slack.com/api" {
		t.Errorf("a non-secret was changed: %q", got)
	}
	if redact.New().String("x") != "x" || redact.New().Error(nil) != nil {
		t.Error("an empty redactor changed something")
	}
}

func TestHandlerRedactsLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redact.New(webhook, password).Handler(slog.NewJSONHandler(&buf, nil)))
	log.With("url", strings.Replace(webhook, "https", "HTTPS", 1)).WithGroup("smtp").Error("send failed for "+password,
		"err", errors.New("auth "+url.QueryEscape(password)), "detail", slog.GroupValue(slog.String("pw", password)), "n", 3)
	out := buf.String()
	for _, leak := range []string{"Xy7QpLmN0a", "S3cr3t"} {
		if strings.Contains(out, leak) {
			t.Errorf("log line leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, `"n":3`) || strings.Count(out, redact.Mask) != 4 {
		t.Errorf("log line: %s", out)
	}
}
