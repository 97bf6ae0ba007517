package notify_test

import (
	"context"
	"errors"
	"io"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/notify/email"
	"github.com/patchwatch/patchwatch/store"
)

// mailbox is an SMTP server that keeps every message it accepts, and
// runs onData after each, as the moment to crash the sender.
type mailbox struct {
	mu       sync.Mutex
	messages [][]byte
	onData   func()
}

type mailboxSession struct{ m *mailbox }

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return mailboxSession{m}, nil }
func (mailboxSession) Mail(string, *smtp.MailOptions) error    { return nil }
func (mailboxSession) Rcpt(string, *smtp.RcptOptions) error    { return nil }
func (mailboxSession) Reset()                                  {}
func (mailboxSession) Logout() error                           { return nil }
func (s mailboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.messages = append(s.m.messages, b)
	hook := s.m.onData
	s.m.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

// uniqueByMessageID is what a receiver's dedupe (a relay's, or a mail
// client's) keeps: one message per Message-ID.
func (m *mailbox) uniqueByMessageID(t *testing.T) map[string]int {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := map[string]int{}
	for _, raw := range m.messages {
		msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		ids[msg.Header.Get("Message-Id")]++
	}
	return ids
}

// crashingStore is the outbox of a process that dies right after the
// relay accepted a message, before the delivery is removed.
type crashingStore struct{ *store.Store }

var errCrash = errors.New("the process was killed")

func (crashingStore) DeleteDelivery(context.Context, string) error { return errCrash }

func TestCrashMidSendGivesOneRecognisableResend(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	sender, err := email.New(email.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: "none", From: "patchwatch@example.org", Timeout: 5 * time.Second})
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
	box.onData = func() { recorded = w.outbox()[0] }
	if _, _, err := newNotifier(crashingStore{w.st}).Deliver(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v", err)
	}
	box.onData = nil
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
	ids := box.uniqueByMessageID(t)
	if len(box.messages) != 2 || len(ids) != 1 {
		t.Fatalf("relay got %d messages with Message-IDs %v; want the crash's one resend under one ID", len(box.messages), ids)
	}
	for id := range ids {
		if want := "<" + recorded.ID + "@example.org>"; id != want {
			t.Errorf("Message-ID %s, want %s (the delivery's ID)", id, want)
		}
	}
}
