package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
)

// TestAlertLinksToTheConsole: with notify.console_url set, an owner alert
// links to each host's console page on every channel, and carries a
// one-time sign-in link when links are on.
func TestAlertLinksToTheConsole(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("web 1", "alice@example.org")
	var asked []string
	cfg := notify.Config{Reminders: map[patchwatch.Urgency]time.Duration{},
		Owners:     map[string]notify.Contact{"alice@example.org": {Email: "alice@example.org", SlackChannel: "#alice"}},
		ConsoleURL: "https://patchwatch.example.org/",
		LoginLink: func(_ context.Context, owner string) (string, error) {
			asked = append(asked, owner)
			return "https://patchwatch.example.org/login/link?t=ONCE", nil
		}}
	n, err := notify.New(cfg, w.st, w.svc, map[string]notify.Sender{"email": w.rec, "slack": w.rec}, nil, func() time.Time { return w.now })
	if err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(10 * time.Minute)
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	const host = "https://patchwatch.example.org/hosts/web%201"
	byChannel := map[string]patchwatch.Delivery{}
	for _, d := range w.outbox() {
		byChannel[d.Channel] = d
	}
	email := byChannel["email"]
	for name, body := range map[string]string{"text": email.Text, "html": email.HTML} {
		if !strings.Contains(body, host) || !strings.Contains(body, "https://patchwatch.example.org/login/link?t=ONCE") {
			t.Errorf("the email's %s lacks the console links:\n%s", name, body)
		}
	}
	var blocks []struct {
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	json.Unmarshal(byChannel["slack"].Blocks, &blocks)
	var slackText strings.Builder
	for _, b := range blocks {
		slackText.WriteString(b.Text.Text)
	}
	if !strings.Contains(slackText.String(), "<"+host+"|open in the console>") {
		t.Errorf("the Slack message lacks the host's link:\n%s", slackText.String())
	}
	if len(asked) != 1 || asked[0] != "alice@example.org" {
		t.Errorf("sign-in links asked for %v, want one for alice", asked)
	}
}
