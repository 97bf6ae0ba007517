package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/notify/slack"
)

// workspace speaks the parts of Slack's Web API and incoming webhooks
// that the sender uses.
type workspace struct {
	mu       sync.Mutex
	posts    []url.Values
	webhooks [][]byte
	status   []int // answers to give first, then 200
	retry    string
}

func (w *workspace) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.status) > 0 {
		code := w.status[0]
		w.status = w.status[1:]
		if code == 429 {
			rw.Header().Set("Retry-After", w.retry)
		}
		rw.WriteHeader(code)
		return
	}
	switch r.URL.Path {
	case "/api/users.lookupByEmail":
		r.ParseForm()
		if r.Header.Get("Authorization") != "Bearer xoxb-test-token" && r.Form.Get("token") != "xoxb-test-token" {
			rw.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
			return
		}
		if r.Form.Get("email") != "alice@example.org" {
			rw.Write([]byte(`{"ok":false,"error":"users_not_found"}`))
			return
		}
		rw.Write([]byte(`{"ok":true,"user":{"id":"U0ALICE","name":"alice"}}`))
	case "/api/chat.postMessage":
		r.ParseForm()
		w.posts = append(w.posts, r.Form)
		if r.Form.Get("channel") == "#nowhere" {
			rw.Write([]byte(`{"ok":false,"error":"channel_not_found"}`))
			return
		}
		rw.Write([]byte(`{"ok":true,"channel":"C1","ts":"1.2"}`))
	case "/hooks/T0/B0/sekret":
		b, _ := io.ReadAll(r.Body)
		w.webhooks = append(w.webhooks, b)
		rw.Write([]byte("ok"))
	default:
		http.NotFound(rw, r)
	}
}

func delivery(target string) patchwatch.Delivery {
	blocks, _ := json.Marshal(map[string]any{"blocks": []map[string]any{
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": notify.SlackEscape("USN-1-1: <!channel> <script> <https://evil.example|click>")}},
	}})
	var wrapped struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	json.Unmarshal(blocks, &wrapped)
	return patchwatch.Delivery{ID: "m1", Channel: "slack", Target: target, Subject: "[patchwatch] <!channel> critical on web1", Blocks: wrapped.Blocks}
}

func TestBotDirectMessageByEmail(t *testing.T) {
	ws := &workspace{}
	srv := httptest.NewServer(ws)
	defer srv.Close()
	s, _ := slack.New(slack.Config{BotToken: "xoxb-test-token", APIURL: srv.URL + "/api/"})
	if err := s.Send(context.Background(), delivery("user:alice@example.org")); err != nil {
		t.Fatal(err)
	}
	if len(ws.posts) != 1 || ws.posts[0].Get("channel") != "U0ALICE" {
		t.Fatalf("posts = %v", ws.posts)
	}
	blocks, text := ws.posts[0].Get("blocks"), ws.posts[0].Get("text")
	// Feed text arrives inert: no mention, no link, no tag.
	for _, bad := range []string{"<!channel>", "<script>", "<https://evil"} {
		if strings.Contains(blocks, bad) || strings.Contains(text, bad) {
			t.Errorf("%q reached Slack live: %s / %s", bad, blocks, text)
		}
	}
	var decoded []struct {
		Text struct{ Text string } `json:"text"`
	}
	json.Unmarshal([]byte(blocks), &decoded)
	if len(decoded) != 1 || !strings.Contains(decoded[0].Text.Text, "&lt;!channel&gt;") || !strings.Contains(text, "&lt;!channel&gt;") {
		t.Errorf("escaped text missing: %s / %s", blocks, text)
	}
}

func TestAnswers(t *testing.T) {
	ws := &workspace{}
	srv := httptest.NewServer(ws)
	defer srv.Close()
	s, _ := slack.New(slack.Config{BotToken: "xoxb-test-token", APIURL: srv.URL + "/api/"})
	ctx := context.Background()

	ws.status, ws.retry = []int{429}, "7"
	err := s.Send(ctx, delivery("#ops"))
	var retry *notify.RetryError
	if !errors.As(err, &retry) || retry.After != 7*time.Second || !errors.Is(err, notify.ErrTemporary) {
		t.Errorf("429: %v", err)
	}
	ws.status = []int{500}
	if err := s.Send(ctx, delivery("#ops")); !errors.Is(err, notify.ErrTemporary) {
		t.Errorf("500: %v", err)
	}
	if err := s.Send(ctx, delivery("#nowhere")); err == nil || errors.Is(err, notify.ErrTemporary) {
		t.Errorf("channel_not_found: %v, want final", err)
	}
	if err := s.Send(ctx, delivery("user:nobody@example.org")); err == nil || errors.Is(err, notify.ErrTemporary) {
		t.Errorf("unknown user: %v, want final", err)
	}
	if err := s.Send(ctx, delivery("#ops")); err != nil {
		t.Errorf("after the failures: %v", err)
	}
}

func TestWebhookKeepsItsSecret(t *testing.T) {
	ws := &workspace{}
	srv := httptest.NewServer(ws)
	defer srv.Close()
	hook := srv.URL + "/hooks/T0/B0/sekret"
	s, _ := slack.New(slack.Config{WebhookURL: hook})
	if err := s.Send(context.Background(), delivery("#ops")); err != nil {
		t.Fatal(err)
	}
	if len(ws.webhooks) != 1 {
		t.Fatalf("%d webhook posts", len(ws.webhooks))
	}
	// Decoded: JSON may write "<" as \u003c, which a raw search would miss.
	var body struct {
		Text   string `json:"text"`
		Blocks []struct {
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(ws.webhooks[0], &body); err != nil || len(body.Blocks) != 1 {
		t.Fatalf("webhook body: %v %s", err, ws.webhooks[0])
	}
	for _, text := range []string{body.Text, body.Blocks[0].Text.Text} {
		if strings.Contains(text, "<!channel>") || !strings.Contains(text, "&lt;!channel&gt;") {
			t.Errorf("webhook text not escaped: %q", text)
		}
	}
	srv.Close()
	err := s.Send(context.Background(), delivery("#ops"))
	if !errors.Is(err, notify.ErrTemporary) || strings.Contains(err.Error(), "sekret") {
		t.Errorf("webhook down: %v (must be temporary and not show the URL)", err)
	}
	tokenSender, _ := slack.New(slack.Config{BotToken: "xoxb-leaky-token", APIURL: "http://127.0.0.1:1/api/"})
	if err := tokenSender.Send(context.Background(), delivery("#ops")); err == nil || strings.Contains(err.Error(), "xoxb-leaky-token") {
		t.Errorf("token in error: %v", err)
	}
}

// TestDeliveryIDInMetadata: both ways of posting carry the delivery's ID
// as message metadata, the same on a resend.
func TestDeliveryIDInMetadata(t *testing.T) {
	ws := &workspace{}
	srv := httptest.NewServer(ws)
	defer srv.Close()
	bot, _ := slack.New(slack.Config{BotToken: "xoxb-test-token", APIURL: srv.URL + "/api/"})
	hook, _ := slack.New(slack.Config{WebhookURL: srv.URL + "/hooks/T0/B0/sekret"})
	for range 2 {
		if err := bot.Send(context.Background(), delivery("#ops")); err != nil {
			t.Fatal(err)
		}
		if err := hook.Send(context.Background(), delivery("#ops")); err != nil {
			t.Fatal(err)
		}
	}
	type metadata struct {
		EventType    string `json:"event_type"`
		EventPayload struct {
			DeliveryID string `json:"delivery_id"`
		} `json:"event_payload"`
	}
	var got []metadata
	for _, p := range ws.posts {
		var m metadata
		if err := json.Unmarshal([]byte(p.Get("metadata")), &m); err != nil {
			t.Fatalf("chat.postMessage metadata %q: %v", p.Get("metadata"), err)
		}
		got = append(got, m)
	}
	for _, b := range ws.webhooks {
		var body struct{ Metadata metadata }
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatal(err)
		}
		got = append(got, body.Metadata)
	}
	if len(got) != 4 {
		t.Fatalf("%d messages", len(got))
	}
	for _, m := range got {
		if m.EventType != slack.MetadataEventType || m.EventPayload.DeliveryID != "m1" {
			t.Errorf("metadata %+v, want delivery_id m1", m)
		}
	}
}
