package main

import (
	"bytes"
	"context"
	"fmt"
	netmail "net/mail"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/smtptest"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

// TestNotifierTakeoverPostgres: two real serve processes on one
// PostgreSQL, a real SMTP relay, and an outbox of pending deliveries. The
// leader is killed (-9) in the middle of a send: after the relay has
// kept the message, before it answered 250, so the killed sender never
// learnt that the message went out. The other replica takes the notifier
// lock and sends the rest within a minute.
//
// It asserts: every delivery reaches the relay; every one exactly once,
// except the one in flight at the kill, which arrives exactly twice under
// one Message-ID (<delivery-id@example.org>): its first copy was accepted
// by the relay unbeknown to the sender, and the survivor resends it once
// the dead replica's claim lapses (notify.claim_lease), because it cannot
// know that copy arrived; the shared Message-ID lets receivers drop it.
// Nothing else is sent twice, by either replica.
func TestNotifierTakeoverPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	bin, dsnFile := buildReplica(t, dir, dsn)
	box := smtptest.Start(t)
	notifyConfig := fmt.Sprintf("notify:\n  enabled: true\n  interval: 1s\n  claim_lease: 5s\n  rate_per_minute: 6000\n  owner_digest: \"off\"\n  admin_digest: \"off\"\n"+
		"  email: {host: 127.0.0.1, port: %d, tls: none, from: patchwatch@example.org}\n", box.Port)
	a := startReplica(t, bin, dir, dsnFile, 1, notifyConfig)
	a.waitLog(t, "leader lock taken", 2, time.Minute)
	b := startReplica(t, bin, dir, dsnFile, 2, notifyConfig)
	if n := b.logged("leader lock taken"); n != 0 {
		t.Fatalf("both replicas lead (%d locks on the second)", n)
	}

	// Kill the leader during its 5th send.
	const deliveries, killAt = 30, 5
	var received atomic.Int32
	killed := make(chan time.Time, 1)
	box.OnData(func() {
		if received.Add(1) != killAt {
			return
		}
		a.cmd.Process.Kill()
		waitKilled(a.cmd.Process.Pid)
		killed <- time.Now()
	})
	st := pgtest.OpenDSN(t, dsn)
	now := time.Now()
	for i := range deliveries {
		d := patchwatch.Delivery{ID: fmt.Sprintf("msg-takeover-%02d", i), Kind: "alert", Channel: "email", Target: fmt.Sprintf("owner%02d@example.org", i),
			Subject: fmt.Sprintf("[patchwatch] alert %d", i), Text: "USN-7000-1 on web1\n", CreatedAt: now, NextAt: now}
		if err := st.PutDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var at time.Time
	select {
	case at = <-killed:
	case <-time.After(time.Minute):
		t.Fatalf("the leader sent %d messages in a minute, not %d:\n%s", received.Load(), killAt, a.logs.String())
	}
	inflight := messageID(t, box.Messages()[killAt-1])

	// Every delivery arrives within a minute of the kill, and the outbox
	// empties.
	deadline := at.Add(time.Minute)
	for {
		ids := box.ByMessageID(t)
		left, err := st.Deliveries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == deliveries && ids[inflight] == 2 && len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Fatalf("a minute after the kill: %d of %d Message-IDs, the one in flight (%s) %d times, %d left in the outbox\n%s",
				len(ids), deliveries, inflight, ids[inflight], len(left), b.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("all delivered %v after the kill", time.Since(at).Round(100*time.Millisecond))
	// One notifier interval more: nothing else goes out.
	time.Sleep(2 * time.Second)
	ids := box.ByMessageID(t)
	for i := range deliveries {
		id := fmt.Sprintf("<msg-takeover-%02d@example.org>", i)
		want := 1
		if id == inflight {
			want = 2
		}
		if ids[id] != want {
			t.Errorf("%s arrived %d times, want %d", id, ids[id], want)
		}
	}
	if got := len(box.Messages()); got != deliveries+1 {
		t.Errorf("the relay got %d messages, want %d (each once, the one in flight twice)", got, deliveries+1)
	}
	if b.logged("leader lock taken") < 2 {
		t.Errorf("the survivor did not take the leader locks:\n%s", b.logs.String())
	}
	if b.logged("resending a delivery whose send was interrupted") != 1 {
		t.Errorf("the survivor did not resend the interrupted delivery once:\n%s", b.logs.String())
	}
}

// messageID returns the Message-ID header of a raw message.
func messageID(t *testing.T, raw []byte) string {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header.Get("Message-Id")
}

// waitKilled waits (up to 5s) until the process pid has died: a zombie
// or gone. Until then, a relay's answer could still reach it.
func waitKilled(pid int) {
	for range 500 {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		// The state follows the parenthesised command name.
		if _, rest, ok := strings.Cut(string(stat), ") "); ok && strings.HasPrefix(rest, "Z") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
