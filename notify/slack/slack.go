// Package slack sends patchwatch's messages to Slack with
// github.com/slack-go/slack: an incoming webhook, or a bot token posting
// to a channel or, by the owner's email (users.lookupByEmail), as a direct
// message. Messages are Block Kit with feed text escaped.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/redact"
)

// Config holds the credentials; both are secrets, never logged.
type Config struct {
	// WebhookURL posts every message to the webhook's channel.
	WebhookURL string
	// BotToken posts through the Web API, to any channel or user.
	BotToken string
	// APIURL replaces https://slack.com/api/ (tests).
	APIURL string
	HTTP   *http.Client
}

// Sender sends deliveries to Slack.
type Sender struct {
	cfg      Config
	api      *slack.Client
	redactor *redact.Redactor
}

var _ notify.Sender = (*Sender)(nil)

// New returns a sender; one of WebhookURL and BotToken is required.
func New(cfg Config) (*Sender, error) {
	if cfg.WebhookURL == "" && cfg.BotToken == "" {
		return nil, errors.New("slack: a webhook URL or a bot token is required")
	}
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	s := &Sender{cfg: cfg, redactor: redact.New(cfg.WebhookURL, cfg.BotToken)}
	if cfg.BotToken != "" {
		opts := []slack.Option{slack.OptionHTTPClient(cfg.HTTP)}
		if cfg.APIURL != "" {
			opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
		}
		s.api = slack.New(cfg.BotToken, opts...)
	}
	return s, nil
}

// Send delivers one message: 429 (with Retry-After), 5xx and network
// errors are temporary; other answers are final.
func (s *Sender) Send(ctx context.Context, d patchwatch.Delivery) error {
	var blocks slack.Blocks
	if len(d.Blocks) > 0 {
		if err := json.Unmarshal(d.Blocks, &blocks); err != nil {
			return fmt.Errorf("slack: blocks: %w", err)
		}
	}
	// The fallback text shows in notifications; it is escaped like the blocks.
	text := notify.SlackEscape(d.Subject)
	// The delivery's ID rides along as message metadata: the same on a
	// resend after a crash, so that a reader of the channel can drop it.
	meta := slack.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{"delivery_id": d.ID, "kind": d.Kind}}
	var err error
	if s.api == nil {
		err = s.postWebhook(ctx, webhookMessage{WebhookMessage: slack.WebhookMessage{Text: text, Blocks: &blocks}, Metadata: meta})
	} else {
		channel := d.Target
		if email, ok := strings.CutPrefix(d.Target, "user:"); ok {
			var u *slack.User
			if u, err = s.api.GetUserByEmailContext(ctx, email); err == nil {
				channel = u.ID
			}
		}
		if err == nil {
			_, _, err = s.api.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks.BlockSet...),
				slack.MsgOptionMetadata(meta))
		}
	}
	if err == nil {
		return nil
	}
	return s.classify(d, err)
}

// MetadataEventType is the event_type of the metadata on every message.
const MetadataEventType = "patchwatch_delivery"

// webhookMessage is slack-go's webhook payload with the metadata that
// incoming webhooks take like chat.postMessage does.
type webhookMessage struct {
	slack.WebhookMessage
	Metadata slack.SlackMetadata `json:"metadata"`
}

// postWebhook posts to the incoming webhook, answering with slack-go's
// error types as slack.PostWebhookCustomHTTPContext does.
func (s *Sender) postWebhook(ctx context.Context, msg webhookMessage) error {
	raw, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode webhook message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusTooManyRequests {
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			return &slack.RateLimitedError{RetryAfter: time.Duration(secs) * time.Second}
		}
	}
	if resp.StatusCode != http.StatusOK {
		return slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	return nil
}

func (s *Sender) classify(d patchwatch.Delivery, err error) error {
	msg := s.redact(err.Error())
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &notify.RetryError{After: rl.RetryAfter, Err: fmt.Errorf("slack %s: %s", d.Target, msg)}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Retryable() {
			return fmt.Errorf("slack %s: %w: %s", d.Target, notify.ErrTemporary, msg)
		}
		return fmt.Errorf("slack %s: %s", d.Target, msg)
	}
	var resp slack.SlackErrorResponse
	if errors.As(err, &resp) {
		return fmt.Errorf("slack %s: %s", d.Target, msg) // e.g. channel_not_found, users_not_found
	}
	if strings.Contains(msg, "_not_found") || strings.Contains(msg, "invalid_auth") || strings.Contains(msg, "not_in_channel") {
		return fmt.Errorf("slack %s: %s", d.Target, msg)
	}
	return fmt.Errorf("slack %s: %w: %s", d.Target, notify.ErrTemporary, msg)
}

// redact keeps the webhook URL (its path is the secret) and the token out
// of error text, in any case and escaping.
func (s *Sender) redact(msg string) string { return s.redactor.String(msg) }
