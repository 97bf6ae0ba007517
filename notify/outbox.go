package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/patchwatch/patchwatch"
)

// limiter returns the send rate limiter of a channel.
func (n *Notifier) limiter(channel string) *rate.Limiter {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.limiters[channel]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(float64(n.cfg.RatePerMinute)/60), max(1, n.cfg.RatePerMinute/6))
		n.limiters[channel] = l
	}
	return l
}

// backoff is the wait after the given number of failed attempts.
func backoff(attempts int) time.Duration {
	d := 30 * time.Second << min(attempts-1, 7)
	return min(d, time.Hour)
}

// Claimer is an outbox that several processes work at once (PostgreSQL
// replicas, and the CLI beside them): each due delivery is claimed by one
// of them for a lease before it is sent.
type Claimer interface {
	// ClaimDeliveries claims up to limit deliveries due at now, not
	// failed, on no channel in skipChannels and held by no live claim,
	// until now+lease, and returns them as stored: SendingAt set means
	// an earlier claimer's send was cut off.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, skipChannels []string, limit int) ([]patchwatch.Delivery, error)
	// ReleaseDelivery stores a claimed delivery's outcome and ends the
	// claim (Store.PutDelivery keeps it; Store.DeleteDelivery ends it
	// with the row).
	ReleaseDelivery(ctx context.Context, d patchwatch.Delivery) error
}

// DefaultClaimLease is how long a claim on a delivery lasts when
// Config.ClaimLease is zero: well beyond one send (the email sender's
// timeout is 30 seconds a step), so a live claimer never loses a claim
// mid-send, and short enough that a delivery whose claimer died goes out
// from another replica within minutes.
const DefaultClaimLease = 5 * time.Minute

// outcome is what became of one attempt at a delivery.
type outcome int

const (
	outcomeDeferred outcome = iota // over the channel's rate: untouched, for the next round
	outcomeSent
	outcomeRetry // a temporary failure: due again later
	outcomeFailed
)

// Deliver sends every due delivery of the outbox. A delivery is removed
// only after its send succeeded; a temporary failure is retried with
// backoff (or when the peer's Retry-After says); a final failure, or too
// many attempts, is kept as failed for `patchwatch notifications`. When
// the store is a Claimer, each delivery is claimed before it is sent, so
// that processes sharing the outbox never send one twice.
func (n *Notifier) Deliver(ctx context.Context) (sent, failed int, err error) {
	count := func(o outcome) {
		switch o {
		case outcomeSent:
			sent++
		case outcomeFailed:
			failed++
		}
	}
	now := n.now()
	if c, ok := n.st.(Claimer); ok {
		// One at a time, so that a claim's lease covers one send, not a
		// batch's; a channel over its rate is left out for this round.
		var skip []string
		for {
			if err := ctx.Err(); err != nil {
				return sent, failed, err
			}
			ds, err := c.ClaimDeliveries(ctx, now, n.cfg.ClaimLease, skip, 1)
			if err != nil || len(ds) == 0 {
				return sent, failed, err
			}
			o, err := n.attempt(ctx, ds[0], now, c.ReleaseDelivery)
			if err != nil {
				return sent, failed, err
			}
			if o == outcomeDeferred {
				if err := c.ReleaseDelivery(ctx, ds[0]); err != nil {
					return sent, failed, err
				}
				skip = append(skip, ds[0].Channel)
			}
			count(o)
		}
	}
	ds, err := n.st.Deliveries(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, d := range ds {
		if d.Failed || d.NextAt.After(now) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return sent, failed, err
		}
		o, err := n.attempt(ctx, d, now, n.st.PutDelivery)
		if err != nil {
			return sent, failed, err
		}
		count(o)
	}
	return sent, failed, nil
}

// attempt sends one due delivery and stores what became of it with
// settle (which ends a claim, where there is one); a sent delivery is
// deleted.
func (n *Notifier) attempt(ctx context.Context, d patchwatch.Delivery, now time.Time, settle func(context.Context, patchwatch.Delivery) error) (outcome, error) {
	sender := n.senders[d.Channel]
	if sender == nil {
		d.Failed, d.LastError = true, fmt.Sprintf("no %s channel is configured", d.Channel)
		return outcomeFailed, settle(ctx, d)
	}
	if !n.limiter(d.Channel).AllowN(now, 1) {
		return outcomeDeferred, nil // over the channel's rate: the next round sends it
	}
	if !d.SendingAt.IsZero() {
		// The sender stopped during this send (a crash, a kill, or a
		// replica whose claim lapsed): the recipient may have it. One
		// resend, same Message-ID; a delivery that keeps being cut off
		// ends as failed rather than resent forever.
		d.Interrupted++
		n.log.Warn("resending a delivery whose send was interrupted; its Message-ID lets receivers drop a copy",
			"id", d.ID, "channel", d.Channel, "started", d.SendingAt, "interrupted", d.Interrupted)
		if d.Interrupted >= n.cfg.MaxAttempts {
			d.Failed, d.SendingAt, d.LastError = true, time.Time{}, fmt.Sprintf("send interrupted %d times", d.Interrupted)
			return outcomeFailed, settle(ctx, d)
		}
	}
	// Recorded before the send, so that a crash during it is known
	// after the restart.
	d.SendingAt = now
	if err := n.st.PutDelivery(ctx, d); err != nil {
		return 0, fmt.Errorf("record the send of %s: %w", d.ID, err)
	}
	sendErr := sender.Send(ctx, d)
	d.SendingAt = time.Time{}
	if sendErr == nil {
		if err := n.st.DeleteDelivery(ctx, d.ID); err != nil {
			return 0, err
		}
		n.log.Info("sent", "id", d.ID, "kind", d.Kind, "channel", d.Channel, "target", d.Target)
		return outcomeSent, nil
	}
	d.Attempts++
	d.LastError = sendErr.Error()
	var retry *RetryError
	o := outcomeRetry
	switch {
	case errors.Is(sendErr, ErrTemporary) && d.Attempts < n.cfg.MaxAttempts:
		wait := backoff(d.Attempts)
		if errors.As(sendErr, &retry) && retry.After > 0 {
			wait = retry.After
		}
		d.NextAt = now.Add(wait)
		n.log.Warn("send failed, will retry", "id", d.ID, "channel", d.Channel, "attempt", d.Attempts, "retry_at", d.NextAt, "err", sendErr)
	default:
		d.Failed = true
		o = outcomeFailed
		n.log.Error("send failed for good", "id", d.ID, "channel", d.Channel, "target", d.Target, "attempts", d.Attempts, "err", sendErr)
	}
	return o, settle(ctx, d)
}

// Retry makes failed deliveries due again: the one with id, or all failed
// ones when id is empty. It returns how many.
func (n *Notifier) Retry(ctx context.Context, id string) (int, error) {
	ds, err := n.st.Deliveries(ctx)
	if err != nil {
		return 0, err
	}
	count := 0
	for _, d := range ds {
		if !d.Failed || id != "" && d.ID != id {
			continue
		}
		d.Failed, d.Attempts, d.Interrupted, d.NextAt = false, 0, 0, n.now()
		if err := n.st.PutDelivery(ctx, d); err != nil {
			return count, err
		}
		count++
	}
	if id != "" && count == 0 {
		return 0, fmt.Errorf("no failed delivery %s", id)
	}
	return count, nil
}

// Enqueue queues deliveries of a rendered message (the digest command and
// test messages), addressed to the owner's contacts or, for an empty
// owner, to the admins.
func (n *Notifier) Enqueue(ctx context.Context, m *Message, owner string) ([]patchwatch.Delivery, error) {
	r := n.render(m)
	now := n.now()
	var ds []patchwatch.Delivery
	if owner == "" {
		ds = n.adminDeliveries(r, now)
	} else {
		ds = n.deliveries(m.Kind, owner, m.Project, r, now)
	}
	for i := range ds {
		ds[i].Kind = m.Kind
		if err := n.st.PutDelivery(ctx, ds[i]); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// Test sends a test message to one recipient at once, outside the outbox.
func (n *Notifier) Test(ctx context.Context, channel, target string) (patchwatch.Delivery, error) {
	sender := n.senders[channel]
	if sender == nil {
		return patchwatch.Delivery{}, fmt.Errorf("no %s channel is configured", channel)
	}
	r := n.render(&Message{Kind: "test", Generated: n.now(), Subject: "[patchwatch] test message",
		Intro: "This is a test of patchwatch's notifications. Nothing needs doing."})
	d := patchwatch.Delivery{ID: newID("test"), Kind: "test", Channel: channel, Target: target, Subject: r.Subject, Text: r.Text, CreatedAt: n.now()}
	if channel == "email" {
		d.HTML = r.HTML
	} else {
		d.Blocks = r.Blocks
	}
	return d, sender.Send(ctx, d)
}
