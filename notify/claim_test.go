package notify_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/smtptest"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/notify/email"
	"github.com/patchwatch/patchwatch/store/postgres"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

// claimWorld is one PostgreSQL outbox, a relay, and notifiers of
// replicas on their own pools.
type claimWorld struct {
	dsn    string
	box    *smtptest.Mailbox
	sender *email.Sender
}

func newClaimWorld(t *testing.T) *claimWorld {
	t.Helper()
	w := &claimWorld{dsn: pgtest.DSN(t), box: smtptest.Start(t)}
	var err error
	w.sender, err = email.New(email.Config{Host: "127.0.0.1", Port: w.box.Port, TLS: "none", From: "patchwatch@example.org", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// replica returns a notifier on a pool of its own, its clock at *now.
func (w *claimWorld) replica(t *testing.T, now *time.Time, lease time.Duration) (*notify.Notifier, *postgres.Store) {
	t.Helper()
	st := pgtest.OpenDSN(t, w.dsn)
	n, err := notify.New(notify.Config{RatePerMinute: 6000, ClaimLease: lease}, st, nil, map[string]notify.Sender{"email": w.sender}, nil, func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return n, st
}

// TestReplicasDeliverEachOnce: two replicas' notifiers working one
// PostgreSQL outbox at once send every delivery exactly once.
func TestReplicasDeliverEachOnce(t *testing.T) {
	ctx := context.Background()
	w := newClaimWorld(t)
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	a, st := w.replica(t, &now, time.Minute)
	b, _ := w.replica(t, &now, time.Minute)
	const n = 60
	for i := range n {
		if err := st.PutDelivery(ctx, patchwatch.Delivery{ID: fmt.Sprintf("msg-%03d", i), Kind: "alert", Channel: "email", Target: "alice@example.org",
			Subject: "s", Text: "t", CreatedAt: now, NextAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for _, nt := range []*notify.Notifier{a, b} {
		wg.Go(func() {
			sent, failed, err := nt.Deliver(ctx)
			if err != nil || failed != 0 {
				t.Errorf("deliver: %d failed, %v", failed, err)
			}
			mu.Lock()
			total += sent
			mu.Unlock()
		})
	}
	wg.Wait()
	ids := w.box.ByMessageID(t)
	if total != n || len(w.box.Messages()) != n || len(ids) != n {
		t.Fatalf("%d sent, the relay got %d messages under %d Message-IDs; want %d of each", total, len(w.box.Messages()), len(ids), n)
	}
	if ds, err := st.Deliveries(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("left in the outbox: %d %v", len(ds), err)
	}
}

// TestStaleClaimResent: a replica that claimed a delivery and died
// mid-send holds it until its lease lapses; then another replica resends
// it once, under the same Message-ID.
func TestStaleClaimResent(t *testing.T) {
	ctx := context.Background()
	w := newClaimWorld(t)
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	const lease = 2 * time.Minute
	survivor, st := w.replica(t, &now, lease)
	d := patchwatch.Delivery{ID: "msg-inflight", Kind: "alert", Channel: "email", Target: "alice@example.org", Subject: "s", Text: "t", CreatedAt: now, NextAt: now}
	if err := st.PutDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	// The replica that dies: it claimed the delivery and recorded that its
	// send started, and no more.
	dead := pgtest.OpenDSN(t, w.dsn)
	claimed, err := dead.ClaimDeliveries(ctx, now, lease, nil, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	claimed[0].SendingAt = now
	if err := dead.PutDelivery(ctx, claimed[0]); err != nil {
		t.Fatal(err)
	}
	dead.Close()

	now = now.Add(lease - time.Second)
	if sent, _, err := survivor.Deliver(ctx); err != nil || sent != 0 {
		t.Fatalf("sent %d (%v) while the dead replica's claim was live", sent, err)
	}
	now = now.Add(2 * time.Second)
	if sent, _, err := survivor.Deliver(ctx); err != nil || sent != 1 {
		t.Fatalf("after the lease: sent %d, %v", sent, err)
	}
	ids := w.box.ByMessageID(t)
	if len(ids) != 1 || ids["<msg-inflight@example.org>"] != 1 {
		t.Fatalf("relay got %v", ids)
	}
	if ds, err := st.Deliveries(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("left in the outbox: %+v %v", ds, err)
	}
}
