package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// TestFeedsAndOpsMetrics: admins read each feed's freshness at
// GET /api/v1/feeds, others are refused; the feed, outbox, stale-host and
// build gauges reach /metrics, and the intake counters exist from the start.
func TestFeedsAndOpsMetrics(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	api := server.New(service.New(st, patchwatch.DefaultUrgencyRules(), clock), st, server.Options{Clock: clock, Feeds: st})
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	admin, _ := server.CreateToken(ctx, st, server.TokenRequest{Kind: patchwatch.TokenAdmin}, now)
	owner, _ := server.CreateToken(ctx, st, server.TokenRequest{Kind: patchwatch.TokenOwner, Owner: "alice@example.org"}, now)

	usnStatus := patchwatch.FeedStatus{Feed: "usn", LastAttempt: now.Add(-time.Minute), LastSuccess: now.Add(-8 * time.Hour),
		LastError: "fetch rss.xml: HTTP 503", Advisories: 412, NewestPublished: now.Add(-9 * time.Hour), Backfill: "done", LastDuration: 3 * time.Second}
	kevStatus := patchwatch.FeedStatus{Feed: "kev", LastAttempt: now.Add(-time.Minute), LastSuccess: now.Add(-time.Minute), Advisories: 1400}
	for _, s := range []patchwatch.FeedStatus{usnStatus, kevStatus} {
		if err := st.PutFeedStatus(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := get("/api/v1/feeds", admin.Secret)
	var rows []server.FeedRow
	if err := json.Unmarshal([]byte(body), &rows); code != 200 || err != nil || len(rows) != 2 {
		t.Fatalf("feeds: %d %v %s", code, err, body)
	}
	if rows[1].Feed != "usn" || !rows[1].Stale || rows[1].LastError != usnStatus.LastError || rows[1].Advisories != 412 ||
		!rows[1].NewestPublished.Equal(usnStatus.NewestPublished) || rows[1].Backfill != "done" || rows[0].Stale {
		t.Errorf("feed rows = %+v", rows)
	}
	if code, _ := get("/api/v1/feeds", owner.Secret); code != http.StatusForbidden {
		t.Errorf("owner reads feeds: %d", code)
	}
	if code, _ := get("/api/v1/feeds", ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous reads feeds: %d", code)
	}

	m := api.Metrics()
	m.FeedStatus(usnStatus, nil)
	m.Outbox(server.OutboxCounts{Pending: 3, Retrying: 2, Failed: 1})
	m.Fleet(service.FleetCounts{Hosts: 4, Stale: 2})
	_, metrics := get("/metrics", "")
	for _, want := range []string{
		`patchwatch_feed_last_success_timestamp_seconds{feed="usn"} 1.7955792e+09`,
		`patchwatch_feed_advisories{feed="usn"} 412`,
		`patchwatch_feed_poll_duration_seconds_count{feed="usn"} 1`,
		`patchwatch_outbox_pending 3`, `patchwatch_outbox_retrying 2`, `patchwatch_outbox_failed 1`, `patchwatch_hosts_stale 2`,
		`patchwatch_build_info{goversion="go`,
		`patchwatch_reports_received_total{format="vuls"} 0`, `patchwatch_reports_rejected_total{reason="auth"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if _, body := get("/healthz", ""); !strings.Contains(body, `"go_version": "go`) {
		t.Errorf("healthz lacks the build: %s", body)
	}
}
