package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/console"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/notify/email"
	"github.com/patchwatch/patchwatch/notify/slack"
	"github.com/patchwatch/patchwatch/redact"
	"github.com/patchwatch/patchwatch/service"
)

// configSecrets returns the secrets the configuration names, for
// redaction; buildNotifier reports those it cannot read.
func configSecrets(cfg config.Config) []string {
	var out []string
	for _, src := range [][2]string{{cfg.Notify.Email.PasswordFile, "PATCHWATCH_SMTP_PASSWORD"},
		{cfg.Notify.Slack.WebhookURLFile, "PATCHWATCH_SLACK_WEBHOOK_URL"}, {cfg.Notify.Slack.BotTokenFile, "PATCHWATCH_SLACK_BOT_TOKEN"}} {
		if v, err := config.Secret(src[0], src[1]); err == nil && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// redactedLogger is env.logger with the configuration's secrets masked
// in every message and attribute.
func redactedLogger(env *Env, cfg config.Config) (*slog.Logger, *redact.Redactor) {
	r := redact.New(configSecrets(cfg)...)
	return slog.New(r.Handler(env.configLogger(cfg).Handler())), r
}

// buildNotifier wires the notifier from the configuration; with
// notifications disabled it has no senders and only drops events.
func buildNotifier(cfg config.Config, s notifyStore, svc *service.Service, log *slog.Logger, clock func() time.Time) (*notify.Notifier, error) {
	n := cfg.Notify
	senders := map[string]notify.Sender{}
	if n.Enabled && n.Email.Host != "" {
		password, err := config.Secret(n.Email.PasswordFile, "PATCHWATCH_SMTP_PASSWORD")
		if err != nil {
			return nil, fmt.Errorf("notify.email.password_file: %w", err)
		}
		ec := email.Config{Host: n.Email.Host, Port: n.Email.Port, TLS: n.Email.TLS, Username: n.Email.Username, Password: password, From: n.Email.From}
		if n.Email.CAFile != "" {
			pem, err := os.ReadFile(n.Email.CAFile)
			if err != nil {
				return nil, fmt.Errorf("notify.email.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("notify.email.ca_file: no PEM certificate")
			}
			ec.TLSConfig = &tls.Config{RootCAs: pool, ServerName: n.Email.Host, MinVersion: tls.VersionTLS12}
		}
		sender, err := email.New(ec)
		if err != nil {
			return nil, err
		}
		senders["email"] = sender
	}
	if n.Enabled {
		webhook, err := config.Secret(n.Slack.WebhookURLFile, "PATCHWATCH_SLACK_WEBHOOK_URL")
		if err != nil {
			return nil, fmt.Errorf("notify.slack.webhook_url_file: %w", err)
		}
		token, err := config.Secret(n.Slack.BotTokenFile, "PATCHWATCH_SLACK_BOT_TOKEN")
		if err != nil {
			return nil, fmt.Errorf("notify.slack.bot_token_file: %w", err)
		}
		if webhook != "" || token != "" {
			sender, err := slack.New(slack.Config{WebhookURL: webhook, BotToken: token, APIURL: n.Slack.APIURL})
			if err != nil {
				return nil, err
			}
			senders["slack"] = sender
		}
	}
	reminders := map[patchwatch.Urgency]time.Duration{}
	for name, d := range n.Reminders {
		if u, err := patchwatch.ParseUrgency(name); err == nil {
			reminders[u] = d
		}
	}
	owners := map[string]notify.Contact{}
	for o, c := range n.Owners {
		owners[o] = notify.Contact(c)
	}
	offIfOff := func(v string) string {
		if v == "off" {
			return ""
		}
		return v
	}
	return notify.New(notify.Config{
		MinUrgency: n.MinUrgency, GroupWait: n.GroupWait, Reminders: reminders, NotifyResolved: n.NotifyResolved,
		OwnerDigest: offIfOff(n.OwnerDigest), AdminDigest: offIfOff(n.AdminDigest), DigestHour: n.DigestHour,
		Owners: owners, Projects: n.Projects, Admins: notify.Contact(n.Admins),
		MaxAttempts: n.MaxAttempts, RatePerMinute: n.RatePerMinute, ClaimLease: n.ClaimLease, Templates: n.Templates,
		ConsoleURL: n.ConsoleURL, LoginLink: loginLinks(n, s, clock),
	}, s, svc, senders, log, clock)
}

// loginLinks makes owner alerts' one-time console sign-in links when
// notify.console_login_links is on.
func loginLinks(n config.Notify, s console.LinkStore, clock func() time.Time) func(context.Context, string) (string, error) {
	if !n.ConsoleLoginLinks || n.ConsoleURL == "" {
		return nil
	}
	return console.NewLoginLinks(s, n.ConsoleURL, 0, clock).LoginLink
}

// notifyLoop runs the notifier and works the outbox every interval.
func notifyLoop(ctx context.Context, nt *notify.Notifier, interval time.Duration, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := nt.Step(ctx); err != nil && ctx.Err() == nil {
			log.Error("notifier step failed", "err", err)
		}
		if _, _, err := nt.Deliver(ctx); err != nil && ctx.Err() == nil {
			log.Error("outbox failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
