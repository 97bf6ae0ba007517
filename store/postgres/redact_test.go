package postgres_test

import (
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/store/postgres"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, text, dsn string
	}{
		{"url", "cannot parse `postgres://u:hunter2@h/db`: bad", "postgres://u:hunter2@h/db"},
		{"url escaped", "dial postgres://u:p%40ss@h/db", "postgres://u:p%40ss@h/db"},
		{"key value", "cannot parse `host=h password=hunter2 user=u`", "host=h password=hunter2 user=u"},
		{"key value quoted", "bad dsn host=h password='hun ter2'", "host=h password='hun ter2'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := postgres.Redact(tc.text, tc.dsn)
			for _, secret := range []string{"hunter2", "p%40ss", "p@ss", "hun ter2"} {
				if strings.Contains(tc.dsn, secret) || strings.Contains(tc.dsn, strings.ReplaceAll(secret, "@", "%40")) {
					if strings.Contains(got, secret) {
						t.Fatalf("Redact = %q, still holds %q", got, secret)
					}
				}
			}
		})
	}
}
