package email_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/notify/email"
	"github.com/patchwatch/patchwatch/notify/internal/testpki"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// relay is a real SMTP server: STARTTLS, AUTH PLAIN, and a switch to
// answer with an error.
type relay struct {
	mu       sync.Mutex
	messages []received
	fail     *smtp.SMTPError
	authed   []string
}

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
}

type session struct {
	r    *relay
	conn *smtp.Conn
	msg  received
	auth bool
}

func (r *relay) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{r: r, conn: c}, nil }

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "patchwatch" || password != "s3cret-pw" {
			return errors.New("invalid credentials")
		}
		s.auth = true
		s.r.mu.Lock()
		s.r.authed = append(s.r.authed, username)
		s.r.mu.Unlock()
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.fail != nil {
		return s.r.fail
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.msg = received{from: from, tls: isTLS}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = b
	s.r.mu.Lock()
	s.r.messages = append(s.r.messages, s.msg)
	s.r.mu.Unlock()
	return nil
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func startRelay(t *testing.T, pki testpki.PKI) (*relay, int) {
	t.Helper()
	r := &relay{}
	srv := smtp.NewServer(r)
	srv.Domain = "relay.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pki.Cert}}
	srv.AllowInsecureAuth = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r, ln.Addr().(*net.TCPAddr).Port
}

func delivery() patchwatch.Delivery {
	return patchwatch.Delivery{ID: "msg-1", Kind: "alert", Channel: "email", Target: "alice@example.org",
		Subject: "[patchwatch] 1 critical security update needed on web1",
		Text:    "USN-1-1 [critical] <!channel> <script>alert(1)</script>\n",
		HTML:    "<p>USN-1-1 &lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p>"}
}

func newSender(t *testing.T, pki testpki.PKI, port int) *email.Sender {
	t.Helper()
	s, err := email.New(email.Config{Host: "127.0.0.1", Port: port, TLS: "starttls", Username: "patchwatch", Password: "s3cret-pw",
		From: "patchwatch@example.org", TLSConfig: &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendThroughRelay(t *testing.T) {
	pki := testpki.New()
	r, port := startRelay(t, pki)
	if err := newSender(t, pki, port).Send(context.Background(), delivery()); err != nil {
		t.Fatal(err)
	}
	if len(r.messages) != 1 {
		t.Fatalf("%d messages", len(r.messages))
	}
	got := r.messages[0]
	if !got.tls || got.from != "patchwatch@example.org" || strings.Join(got.to, ",") != "alice@example.org" || len(r.authed) != 1 {
		t.Fatalf("envelope = %+v, auth %v", got, r.authed)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(got.data)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Subject") != delivery().Subject || m.Header.Get("To") != "<alice@example.org>" {
		t.Errorf("headers: %q %q", m.Header.Get("Subject"), m.Header.Get("To"))
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("content type %q: %v", mediaType, err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	parts := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p) // multipart.Reader undoes quoted-printable itself
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "USN-1-1 [critical]") || !strings.Contains(parts["text/html"], "&lt;script&gt;") || strings.Contains(parts["text/html"], "<script>") {
		t.Errorf("parts: %q", parts)
	}
}

func TestRelayAnswers(t *testing.T) {
	pki := testpki.New()
	r, port := startRelay(t, pki)
	s := newSender(t, pki, port)
	r.fail = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	err := s.Send(context.Background(), delivery())
	if !errors.Is(err, notify.ErrTemporary) {
		t.Errorf("451: %v, want temporary", err)
	}
	r.fail = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	err = s.Send(context.Background(), delivery())
	if err == nil || errors.Is(err, notify.ErrTemporary) {
		t.Errorf("550: %v, want final", err)
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Error("the password leaked into an error")
	}
	// A relay that is down is temporary.
	down, _ := email.New(email.Config{Host: "127.0.0.1", Port: 1, TLS: "starttls", From: "p@example.org", Timeout: time.Second})
	if err := down.Send(context.Background(), delivery()); !errors.Is(err, notify.ErrTemporary) {
		t.Errorf("relay down: %v", err)
	}
	// Wrong password: refused and the password is not in the error.
	bad, _ := email.New(email.Config{Host: "127.0.0.1", Port: port, Username: "patchwatch", Password: "wrong-pw-XYZ", From: "p@example.org",
		TLSConfig: &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"}, Timeout: 5 * time.Second})
	r.fail = nil
	if err := bad.Send(context.Background(), delivery()); err == nil || strings.Contains(err.Error(), "wrong-pw-XYZ") {
		t.Errorf("bad password: %v", err)
	}
}

func TestNoTLSOnlyToLoopback(t *testing.T) {
	if _, err := email.New(email.Config{Host: "smtp.example.org", TLS: "none", From: "p@example.org"}); err == nil {
		t.Error("plain SMTP to a remote relay accepted")
	}
}

// TestOwnerGetsOneMessage: an owner exposed to a high advisory on two
// hosts gets exactly one message through the relay after the group window.
func TestOwnerGetsOneMessage(t *testing.T) {
	pki := testpki.New()
	r, port := startRelay(t, pki)
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	kernel := patchwatch.Advisory{ID: "USN-6000-1", Source: patchwatch.SourceUSN, Title: "linux-bluefield vulnerabilities", Published: now, Modified: now,
		Severity: patchwatch.SeverityCritical, Fixes: []patchwatch.Fix{{Release: "ubuntu:20.04", Package: "linux-bluefield", Kind: patchwatch.KindSource, FixedVersion: "5.4.0-1059.65"}}}
	st.UpsertAdvisories(ctx, []patchwatch.Advisory{kernel})
	svc := service.New(st, patchwatch.DefaultUrgencyRules(), clock)
	for _, name := range []string{"web1", "web2"} {
		h := patchwatch.Host{Name: name, Owner: "alice@example.org", Release: "ubuntu:20.04", Family: patchwatch.FamilyDebian, SourceInfo: true,
			Packages: []patchwatch.Package{{Name: "linux-modules-5.4.0-1058-bluefield", Version: "5.4.0-1058.64", SourceName: "linux-bluefield", SourceVersion: "5.4.0-1058.64"}}}
		if _, err := svc.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	n, err := notify.New(notify.Config{}, st, svc, map[string]notify.Sender{"email": newSender(t, pki, port)}, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(6 * time.Minute)
	for range 3 {
		if err := n.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := n.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.messages) != 1 {
		t.Fatalf("%d messages, want exactly one", len(r.messages))
	}
	body := string(r.messages[0].data)
	for _, want := range []string{"web1", "web2", "USN-6000-1", "critical", "sudo reboot"} {
		if !strings.Contains(body, want) {
			t.Errorf("message lacks %q", want)
		}
	}
}
