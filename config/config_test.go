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

func TestKEVSources(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
		wantErr    string
	}{
		{"default: CISA, then the GitHub copy", "", []string{
			"https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
			"https://raw.githubusercontent.com/cisagov/kev-data/main/known_exploited_vulnerabilities.json"}, ""},
		{"urls", "feeds:\n  kev:\n    urls: [https://a.example/kev.json, https://b.example/kev.json]\n", []string{"https://a.example/kev.json", "https://b.example/kev.json"}, ""},
		{"url, as older configurations say", "feeds:\n  kev:\n    url: https://mirror.example/kev.json\n", []string{"https://mirror.example/kev.json"}, ""},
		{"empty list", "feeds:\n  kev:\n    urls: []\n", nil, "feeds.kev.urls"},
		{"bad list entry", "feeds:\n  kev:\n    urls: [https://a.example/k, ftp://b]\n", nil, "feeds.kev.urls[1]"},
		{"usn resync too often", "feeds:\n  usn:\n    resync_interval: 5m\n", nil, "feeds.usn.resync_interval"},
		{"usn probes", "feeds:\n  usn:\n    max_probes: 0\n", nil, "feeds.usn.max_probes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(strings.NewReader(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to name %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Feeds.KEV.Sources(); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Sources = %v, want %v", got, tt.want)
			}
		})
	}
}
