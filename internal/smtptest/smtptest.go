// Package smtptest runs a real SMTP relay (github.com/emersion/go-smtp)
// on loopback for tests, keeping every message it accepts.
package smtptest

import (
	"io"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Mailbox is a relay that accepts every message, without TLS or
// authentication (patchwatch's tls: none, for loopback relays).
type Mailbox struct {
	// Port is the loopback port it listens on.
	Port int

	mu       sync.Mutex
	messages [][]byte
	onData   func()
}

// Start starts a mailbox, stopped when tb ends.
func Start(tb testing.TB) *Mailbox {
	tb.Helper()
	m := &Mailbox{}
	srv := smtp.NewServer(backend{m})
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	// Bounds what Data reads whole: a message the notifier sends is a few
	// kilobytes.
	srv.MaxMessageBytes = 8 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	m.Port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return m
}

// OnData sets a function run after each message is kept and before the
// relay answers 250: the moment to crash or kill a sender. nil clears it.
func (m *Mailbox) OnData(fn func()) {
	m.mu.Lock()
	m.onData = fn
	m.mu.Unlock()
}

// Messages returns the raw messages accepted so far.
func (m *Mailbox) Messages() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]byte(nil), m.messages...)
}

// ByMessageID counts the accepted messages per Message-ID header: what a
// receiver's dedupe (a relay's, or a mail client's) keeps one of.
func (m *Mailbox) ByMessageID(tb testing.TB) map[string]int {
	tb.Helper()
	ids := map[string]int{}
	for _, raw := range m.Messages() {
		msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			tb.Fatal(err)
		}
		ids[msg.Header.Get("Message-Id")]++
	}
	return ids
}

type backend struct{ m *Mailbox }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return session(b), nil }

type session struct{ m *Mailbox }

func (session) Mail(string, *smtp.MailOptions) error { return nil }
func (session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (session) Reset()                               {}
func (session) Logout() error                        { return nil }
func (s session) Data(r io.Reader) error {
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
