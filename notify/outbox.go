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

// Deliver sends every due delivery of the outbox. A delivery is removed
// only after its send succeeded; a temporary failure is retried with
// backoff (or when the peer's Retry-After says); a final failure, or too
// many attempts, is kept as failed for `patchwatch notifications`.
func (n *Notifier) Deliver(ctx context.Context) (sent, failed int, err error) {
	ds, err := n.st.Deliveries(ctx)
	if err != nil {
		return 0, 0, err
	}
	now := n.now()
	for _, d := range ds {
		if d.Failed || d.NextAt.After(now) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return sent, failed, err
		}
		sender := n.senders[d.Channel]
		if sender == nil {
			d.Failed, d.LastError = true, fmt.Sprintf("no %s channel is configured", d.Channel)
			failed++
			if err := n.st.PutDelivery(ctx, d); err != nil {
				return sent, failed, err
			}
			continue
		}
		if !n.limiter(d.Channel).AllowN(now, 1) {
			continue // over the channel's rate: the next round sends it
		}
		if !d.SendingAt.IsZero() {
			// The process stopped during this send: the recipient may have
			// it. One resend, same Message-ID; a delivery that keeps being
			// cut off ends as failed rather than resent forever.
			d.Interrupted++
			n.log.Warn("resending a delivery whose send was interrupted; its Message-ID lets receivers drop a copy",
				"id", d.ID, "channel", d.Channel, "started", d.SendingAt, "interrupted", d.Interrupted)
			if d.Interrupted >= n.cfg.MaxAttempts {
				d.Failed, d.SendingAt, d.LastError = true, time.Time{}, fmt.Sprintf("send interrupted %d times", d.Interrupted)
				failed++
				if err := n.st.PutDelivery(ctx, d); err != nil {
					return sent, failed, err
				}
				continue
			}
		}
		// Recorded before the send, so that a crash during it is known
		// after the restart.
		d.SendingAt = now
		if err := n.st.PutDelivery(ctx, d); err != nil {
			return sent, failed, fmt.Errorf("record the send of %s: %w", d.ID, err)
		}
		sendErr := sender.Send(ctx, d)
		d.SendingAt = time.Time{}
		if sendErr == nil {
			if err := n.st.DeleteDelivery(ctx, d.ID); err != nil {
				return sent, failed, err
			}
			n.log.Info("sent", "id", d.ID, "kind", d.Kind, "channel", d.Channel, "target", d.Target)
			sent++
			continue
		}
		d.Attempts++
		d.LastError = sendErr.Error()
		var retry *RetryError
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
			failed++
			n.log.Error("send failed for good", "id", d.ID, "channel", d.Channel, "target", d.Target, "attempts", d.Attempts, "err", sendErr)
		}
		if err := n.st.PutDelivery(ctx, d); err != nil {
			return sent, failed, err
		}
	}
	return sent, failed, nil
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
