package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/config"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"empty gives defaults", "", ""},
		{"override", "poll_interval: 30m\nfeeds:\n  usn:\n    backfill_url: \"-\"\n", ""},
		{"unknown key", "poll_intervall: 1h\n", "poll_intervall"},
		{"unknown nested key", "feeds:\n  usn:\n    feed: x\n", "feed"},
		{"bad interval", "poll_interval: 10s\n", "poll_interval"},
		{"bad url", "feeds:\n  usn:\n    feed_url: ftp://x\n", "feeds.usn.feed_url"},
		{"record url without id", "feeds:\n  usn:\n    record_url: https://x/y.json\n", "feeds.usn.record_url"},
		{"bad level", "log_level: loud\n", "log_level"},
		{"bad attempts", "http:\n  attempts: 0\n", "http.attempts"},
		{"console links", "notify:\n  console_url: https://patchwatch.example.org\n  console_login_links: true\n", ""},
		{"bad console url", "notify:\n  console_url: patchwatch.example.org\n", "notify.console_url"},
		{"links without console url", "notify:\n  console_login_links: true\n", "notify.console_login_links"},
		{"body limits in flight", "server:\n  max_bodies_in_flight: 8\n  max_body_bytes_in_flight: 134217728\n  unauthenticated_timeout: 5s\n", ""},
		{"budget under one body", "server:\n  max_body_bytes_in_flight: 1048576\n", "server.max_body_bytes_in_flight"},
		{"no bodies in flight", "server:\n  max_bodies_in_flight: 0\n", "server.max_bodies_in_flight"},
		{"no unauthenticated timeout", "server:\n  unauthenticated_timeout: 0s\n", "unauthenticated_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(strings.NewReader(tt.yaml))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.HTTP.Timeout != 60*time.Second {
					t.Errorf("defaults lost: %+v", cfg.HTTP)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to name %q", err, tt.wantErr)
			}
		})
	}
}
