package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// TestShutdownDuringBurstLosesNoAcknowledgedReport: reports stream in from
// many hosts while the server is shut down gracefully; after reopening the
// database every report that was acknowledged is there.
func TestShutdownDuringBurstLosesNoAcknowledgedReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw.db")
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := service.New(st, patchwatch.DefaultUrgencyRules(), clock)
	api := server.New(svc, st, server.Options{Clock: clock, ReportInterval: time.Millisecond, ReportBurst: 1000})
	ctx := context.Background()
	const hosts = 60
	tokens := make([]string, hosts)
	enroll, _ := server.CreateToken(ctx, st, server.TokenRequest{Kind: patchwatch.TokenEnroll, Owner: "ops@example.org"}, now)
	for i := range hosts {
		secret, tok, _ := server.NewToken(patchwatch.TokenHost, now)
		tok.Host, tok.Owner = fmt.Sprintf("vm%02d", i), "ops@example.org"
		if err := st.PutToken(ctx, server.HashToken(secret), tok); err != nil {
			t.Fatal(err)
		}
		tokens[i] = secret
	}
	_ = enroll
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.Handler()}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String()

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	tenAcked := make(chan struct{})
	for i := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("vm%02d", i)
			body := bytes.Replace(report(t, "x"), []byte(`"hostname":"x"`), []byte(fmt.Sprintf(`"hostname":%q`, name)), 1)
			req, _ := http.NewRequest("POST", url+"/api/v1/reports", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tokens[i])
			req.Header.Set("Content-Type", "application/json")
			// Spread the burst over time so that the restart finds reports
			// done, in flight and not yet sent (load shaping, not waiting).
			time.Sleep(time.Duration(i) * 3 * time.Millisecond)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // refused once shutdown began: not acknowledged
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				var ack server.ReportResponse
				if json.NewDecoder(resp.Body).Decode(&ack) == nil && ack.Host == name {
					mu.Lock()
					acked[name] = true
					if len(acked) == 10 {
						close(tenAcked)
					}
					mu.Unlock()
				}
			}
		}()
	}
	// Restart while the burst is under way: some reports are done, some
	// in flight, some not yet sent.
	<-tenAcked
	shutdownCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if len(acked) == 0 {
		t.Fatal("no report was acknowledged before the shutdown")
	}
	st2, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	for name := range acked {
		if _, err := st2.Host(ctx, name); err != nil {
			t.Errorf("acknowledged report of %s lost: %v", name, err)
		}
	}
	t.Logf("%d of %d reports acknowledged before shutdown, all durable", len(acked), hosts)
}
