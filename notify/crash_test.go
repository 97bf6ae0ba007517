package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/smtptest"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/notify/email"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// crashingStore is the outbox of a process that dies right after the
// relay accepted a message, before the delivery is removed.
type crashingStore struct{ *bolt.Store }

var errCrash = errors.New("the process was killed")

func (crashingStore) DeleteDelivery(context.Context, string) error { return errCrash }

func TestCrashMidSendGivesOneRecognisableResend(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	box := smtptest.Start(t)
	sender, err := email.New(email.Config{Host: "127.0.0.1", Port: box.Port, TLS: "none", From: "patchwatch@example.org", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	newNotifier := func(st notify.Store) *notify.Notifier {
		n, err := notify.New(notify.Config{Reminders: map[patchwatch.Urgency]time.Duration{}}, st, w.svc, map[string]notify.Sender{"email": sender}, nil, func() time.Time { return w.now })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	w.host("web1", "alice@example.org")
	w.now = w.now.Add(10 * time.Minute)
	if err := newNotifier(w.st).Step(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.outbox()) != 1 {
		t.Fatalf("outbox %+v", w.outbox())
	}
	// While the relay takes the message, the outbox already says the send
	// started.
	var recorded patchwatch.Delivery
	box.OnData(func() { recorded = w.outbox()[0] })
	if _, _, err := newNotifier(crashingStore{w.st}).Deliver(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v", err)
	}
	box.OnData(nil)
	if recorded.SendingAt.IsZero() {
		t.Fatal("the attempt was not recorded before the send")
	}

	// Restart: a new process over the same database.
	w.st.Close()
	w.open()
	if sent, _, err := newNotifier(w.st).Deliver(ctx); err != nil || sent != 1 {
		t.Fatalf("after restart: sent %d, %v", sent, err)
	}
	if sent, _, _ := newNotifier(w.st).Deliver(ctx); sent != 0 || len(w.outbox()) != 0 {
		t.Fatalf("sent again, or left in the outbox: %d %+v", sent, w.outbox())
	}
	ids := box.ByMessageID(t)
	if len(box.Messages()) != 2 || len(ids) != 1 {
		t.Fatalf("relay got %d messages with Message-IDs %v; want the crash's one resend under one ID", len(box.Messages()), ids)
	}
	for id := range ids {
		if want := "<" + recorded.ID + "@example.org>"; id != want {
			t.Errorf("Message-ID %s, want %s (the delivery's ID)", id, want)
		}
	}
}
