package patchwatch

import "time"

// Delivery is one rendered message waiting in the outbox for one
// recipient on one channel. It is queued in the same transaction as the
// change that causes it and removed only after it was sent, so a crash
// costs at most one duplicate, never a loss.
type Delivery struct {
	ID string `json:"id"`
	// Kind is alert, reminder, resolved, owner-digest, admin-digest or test.
	Kind string `json:"kind"`
	// Channel is "email" or "slack"; Target the address, Slack channel, or
	// "user:EMAIL" for a direct message to the Slack user with that email.
	Channel string `json:"channel"`
	Target  string `json:"target"`
	Owner   string `json:"owner,omitempty"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	// Blocks is the Slack Block Kit JSON.
	Blocks    []byte    `json:"blocks,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// NextAt is when the sender tries next; Attempts how often it tried.
	NextAt   time.Time `json:"next_at"`
	Attempts int       `json:"attempts"`
	// Failed is set once a final error (SMTP 5xx, Slack 4xx) or too many
	// attempts ended the tries; LastError says why.
	Failed    bool   `json:"failed,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// SendingAt is stored just before a send starts and cleared with its
	// outcome: a delivery found with it set after a restart may have
	// reached its recipient, and is resent once under the same
	// Message-ID (Slack: metadata delivery_id), so receivers drop the copy.
	SendingAt time.Time `json:"sending_at,omitzero"`
	// Interrupted counts sends cut off by a crash or a kill.
	Interrupted int `json:"interrupted,omitempty"`
}

// NotifyEvent is a finding event waiting for the notifier, with what
// routing needs.
type NotifyEvent struct {
	Seq     uint64 `json:"seq"`
	Owner   string `json:"owner,omitempty"`
	Project string `json:"project,omitempty"`
	Event
}
