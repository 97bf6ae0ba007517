// Package email sends patchwatch's messages through an existing SMTP relay
// (patchwatch never runs a mail server): STARTTLS required by default,
// implicit TLS supported, authenticated, multipart text and HTML.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/redact"
)

// Config locates the relay.
type Config struct {
	Host string
	Port int
	// TLS is "starttls" (required; the default), "implicit" (SMTPS) or
	// "none", allowed only towards a loopback relay.
	TLS      string
	Username string
	// Password is never logged nor put in errors.
	Password string
	From     string
	// TLSConfig, when set, replaces the default (a private CA).
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// Sender sends deliveries by email.
type Sender struct {
	cfg Config
	// domain is the From address's, for Message-IDs.
	domain   string
	redactor *redact.Redactor
}

var _ notify.Sender = (*Sender)(nil)

// New checks the configuration and returns a sender.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" || cfg.From == "" {
		return nil, errors.New("email: host and from are required")
	}
	if cfg.TLS == "" {
		cfg.TLS = "starttls"
	}
	if cfg.TLS == "none" {
		ip := net.ParseIP(cfg.Host)
		if cfg.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("email: tls none is allowed only towards a loopback relay, not %s", cfg.Host)
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	addr, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: from %q: %w", cfg.From, err)
	}
	_, domain, _ := strings.Cut(addr.Address, "@")
	return &Sender{cfg: cfg, domain: domain, redactor: redact.New(cfg.Password)}, nil
}

func (s *Sender) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithTimeout(s.cfg.Timeout)}
	if s.cfg.Port != 0 {
		opts = append(opts, mail.WithPort(s.cfg.Port))
	}
	switch s.cfg.TLS {
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "implicit":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return nil, fmt.Errorf("email: tls %q is not starttls, implicit or none", s.cfg.TLS)
	}
	if s.cfg.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(s.cfg.TLSConfig))
	}
	if s.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	}
	return mail.NewClient(s.cfg.Host, opts...)
}

// Send delivers one message. SMTP 4xx answers and network errors are
// temporary; 5xx answers are final.
func (s *Sender) Send(ctx context.Context, d patchwatch.Delivery) error {
	msg := mail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("email: from: %w", err)
	}
	if err := msg.To(d.Target); err != nil {
		return fmt.Errorf("email: recipient %q: %w", d.Target, err)
	}
	msg.Subject(d.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(notify.MessageID(d, s.domain))
	msg.SetBodyString(mail.TypeTextPlain, d.Text)
	if d.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, d.HTML)
	}
	c, err := s.client()
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	err = s.redactor.Error(err)
	var se *mail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return fmt.Errorf("email to %s: %w", d.Target, err)
		}
		if se.IsTemp() || se.ErrorCode() >= 400 && se.ErrorCode() < 500 {
			return fmt.Errorf("email to %s: %w: %w", d.Target, notify.ErrTemporary, err)
		}
	}
	// Connection and TLS failures: the relay may come back.
	return fmt.Errorf("email to %s: %w: %w", d.Target, notify.ErrTemporary, err)
}
