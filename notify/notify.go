// Package notify tells owners what is urgent on their machines and admins
// how the fleet stands: it groups finding events per owner, reminds while
// findings stay open, renders messages, and works an outbox kept in the
// database with retries and backoff. The channels live in notify/email and
// notify/slack.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
)

// Sender delivers one message on one channel.
type Sender interface {
	// Send delivers d. An error that wraps ErrTemporary is retried (after
	// RetryAfter when it gives one); any other error is final.
	Send(ctx context.Context, d patchwatch.Delivery) error
}

// MessageID is the stable Message-ID (without angle brackets) of a
// delivery: the same on every attempt and after a restart, so that a
// relay or a mail client drops a resent copy.
func MessageID(d patchwatch.Delivery, domain string) string {
	if domain == "" {
		domain = "patchwatch.invalid"
	}
	return d.ID + "@" + domain
}

// ErrTemporary marks failures worth retrying: network errors, SMTP 4xx,
// Slack 429 and 5xx.
var ErrTemporary = errors.New("temporary failure")

// RetryError is a temporary failure with the wait the peer asked for.
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() []error {
	return []error{e.Err, ErrTemporary}
}

// Contact is where one owner is reached.
type Contact struct {
	Email string `yaml:"email"`
	// SlackUserEmail sends a direct message to the Slack user with that email.
	SlackUserEmail string `yaml:"slack_user_email"`
	SlackChannel   string `yaml:"slack_channel"`
}

// Config says who is told what, and when.
type Config struct {
	// MinUrgency is the least urgency that triggers an immediate message.
	MinUrgency patchwatch.Urgency
	// GroupWait collects an owner's events for this long into one message.
	GroupWait time.Duration
	// Reminders gives, per urgency, the interval of reminders while a
	// finding stays open; 0 sends none.
	Reminders map[patchwatch.Urgency]time.Duration
	// NotifyResolved also tells owners when findings are resolved.
	NotifyResolved bool
	// OwnerDigest and AdminDigest are "daily", "weekly" or "" (off);
	// DigestHour is the UTC hour they go out.
	OwnerDigest, AdminDigest string
	DigestHour               int
	// Owners maps an owner to its contact; an owner that looks like an
	// email address is reached there when not listed. Projects map a
	// project to a Slack channel that receives its hosts' messages too.
	Owners   map[string]Contact
	Projects map[string]string
	// Admins receive the admin digest.
	Admins Contact
	// MaxAttempts ends retries with a final failure; RatePerMinute limits
	// each channel's sends.
	MaxAttempts   int
	RatePerMinute int
	// ClaimLease is how long a claim on a delivery lasts in an outbox
	// shared by several processes (a Claimer); 0 means DefaultClaimLease.
	// It must outlast the longest send.
	ClaimLease time.Duration
	// Templates override the embedded ones, by name (owner.txt, owner.html,
	// admin.txt, admin.html).
	Templates map[string]string
	// ConsoleURL is the web console's base address; owner messages link
	// to each host's page there. Empty leaves the links out.
	ConsoleURL string
	// LoginLink, when set, makes a one-time console sign-in link for an
	// owner's alert; it returns "" when the owner has no token to sign in
	// with.
	LoginLink func(ctx context.Context, owner string) (string, error)
}

// Store is the notifier's view of the database.
type Store interface {
	PendingEvents(ctx context.Context) ([]patchwatch.NotifyEvent, error)
	// OldestPendingEvent is the pending event queued first (false when
	// none is).
	OldestPendingEvent(ctx context.Context) (patchwatch.NotifyEvent, bool, error)
	CommitNotify(ctx context.Context, b store.NotifyBatch) error
	Notified(ctx context.Context) (map[[2]string]time.Time, error)
	NotifyMeta(ctx context.Context, key string) ([]byte, error)
	Deliveries(ctx context.Context) ([]patchwatch.Delivery, error)
	PutDelivery(ctx context.Context, d patchwatch.Delivery) error
	DeleteDelivery(ctx context.Context, id string) error
	FindingRecords(ctx context.Context, host string) ([]patchwatch.FindingRecord, error)
	// FeedStatuses returns every feed's stored status (the admin digest
	// warns about stale feeds).
	FeedStatuses(ctx context.Context) ([]patchwatch.FeedStatus, error)
}

// Fleet is the notifier's view of the application layer.
type Fleet interface {
	// HostRecord is a host's stored summary (no inventory: a message
	// needs its release, project, reboot state and checks, and decoding a
	// fleet's packages to send a first evaluation's alerts took a seventh
	// of the notifier's time).
	HostRecord(ctx context.Context, name string) (patchwatch.HostRecord, error)
	// OutstandingOf is a host's stored findings, given its record.
	OutstandingOf(ctx context.Context, rec *patchwatch.HostRecord) ([]patchwatch.Finding, error)
	HostSummaries(ctx context.Context, f service.HostFilter) ([]service.HostSummary, error)
	TimeToPatch(ctx context.Context, by string) ([]service.TimeToPatchRow, error)
	OutstandingAll(ctx context.Context, f service.Filter) ([]patchwatch.Finding, error)
	Checks(ctx context.Context, h *patchwatch.Host) ([]patchwatch.HostCheck, error)
	// Overview returns the fleet's open findings in figures, from the
	// stored host records, with top advisories and attention hosts each.
	Overview(ctx context.Context, top int) (service.FleetOverview, error)
	// SummariesOverview returns HostSummaries and Overview from one walk
	// of the stored host records.
	SummariesOverview(ctx context.Context, f service.HostFilter, top int) ([]service.HostSummary, service.FleetOverview, error)
}

// Notifier decides what to send and works the outbox.
type Notifier struct {
	cfg      Config
	st       Store
	fleet    Fleet
	senders  map[string]Sender
	log      *slog.Logger
	now      func() time.Time
	tmpl     *templates
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	// flushAt is the constant flushAt, which tests lower.
	flushAt int
	// remindersChecked is when Step last looked for due reminders
	// (ReminderCheck); only Step reads and sets it.
	remindersChecked time.Time
}

// ReminderCheck is how often Step looks for due reminders. Looking reads
// every finding record of the fleet (a million at 100,000 hosts, 2 s),
// and reminder intervals are hours: a reminder goes out at most this late.
const ReminderCheck = 10 * time.Minute

// New returns a notifier; senders maps a channel ("email", "slack") to
// its sender; clock nil means time.Now.
func New(cfg Config, st Store, fleet Fleet, senders map[string]Sender, log *slog.Logger, clock func() time.Time) (*Notifier, error) {
	if cfg.MinUrgency == 0 {
		cfg.MinUrgency = patchwatch.UrgencyHigh
	}
	if cfg.GroupWait == 0 {
		cfg.GroupWait = 5 * time.Minute
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.RatePerMinute == 0 {
		cfg.RatePerMinute = 60
	}
	if cfg.ClaimLease == 0 {
		cfg.ClaimLease = DefaultClaimLease
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = time.Now
	}
	t, err := loadTemplates(cfg.Templates)
	if err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, st: st, fleet: fleet, senders: senders, log: log.With("component", "notify"), now: clock, tmpl: t, limiters: map[string]*rate.Limiter{}, flushAt: flushAt}, nil
}

func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// recipients returns the deliveries' (channel, target) pairs for an owner
// and project, and false when nobody can be reached.
func (n *Notifier) recipients(owner, project string) ([][2]string, bool) {
	c, listed := n.cfg.Owners[owner]
	if !listed && strings.Contains(owner, "@") {
		c = Contact{Email: owner}
	}
	var out [][2]string
	if c.Email != "" && n.senders["email"] != nil {
		out = append(out, [2]string{"email", c.Email})
	}
	if n.senders["slack"] != nil {
		if c.SlackUserEmail != "" {
			out = append(out, [2]string{"slack", "user:" + c.SlackUserEmail})
		}
		if c.SlackChannel != "" {
			out = append(out, [2]string{"slack", c.SlackChannel})
		}
		if ch := n.cfg.Projects[project]; ch != "" {
			out = append(out, [2]string{"slack", ch})
		}
	}
	return out, len(out) > 0
}

// Reachable reports whether an owner has any contact.
func (n *Notifier) Reachable(owner, project string) bool {
	_, ok := n.recipients(owner, project)
	return ok
}

func (n *Notifier) deliveries(kind, owner, project string, m rendered, now time.Time) []patchwatch.Delivery {
	rcpts, _ := n.recipients(owner, project)
	var out []patchwatch.Delivery
	for _, r := range rcpts {
		d := patchwatch.Delivery{ID: newID("msg"), Kind: kind, Channel: r[0], Target: r[1], Owner: owner, Subject: m.Subject,
			Text: m.Text, CreatedAt: now, NextAt: now}
		if r[0] == "email" {
			d.HTML = m.HTML
		} else {
			d.Blocks = m.Blocks
		}
		out = append(out, d)
	}
	return out
}

// Step turns what happened into deliveries: grouped immediate alerts,
// reminders, and the digests when they are due. Everything it decides is
// committed in one transaction.
func (n *Notifier) Step(ctx context.Context) error {
	now := n.now()
	batch := store.NotifyBatch{Notified: map[[2]string]time.Time{}, Meta: map[string][]byte{}}
	if len(n.senders) == 0 {
		// Notifications are off: the events are consumed and dropped, so
		// that they do not pile up.
		events, err := n.st.PendingEvents(ctx)
		if err != nil || len(events) == 0 {
			return err
		}
		for _, e := range events {
			batch.Consumed = append(batch.Consumed, e.Seq)
		}
		return n.st.CommitNotify(ctx, batch)
	}
	if err := n.alerts(ctx, now, &batch); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	checkReminders := n.remindersDue(now)
	if checkReminders {
		if err := n.reminders(ctx, now, &batch); err != nil {
			return fmt.Errorf("reminders: %w", err)
		}
	}
	if err := n.digests(ctx, now, &batch); err != nil {
		return fmt.Errorf("digests: %w", err)
	}
	if len(batch.Consumed) > 0 || len(batch.Deliveries) > 0 || len(batch.Meta) > 0 || len(batch.Notified) > 0 {
		if err := n.st.CommitNotify(ctx, batch); err != nil {
			return err
		}
	}
	if checkReminders {
		n.remindersChecked = now
	}
	return nil
}

// remindersDue reports whether Step should look for due reminders now:
// some urgency has reminders, and the last look is ReminderCheck ago (or
// in the future: a clock set back).
func (n *Notifier) remindersDue(now time.Time) bool {
	some := false
	for _, interval := range n.cfg.Reminders {
		some = some || interval > 0
	}
	return some && (n.remindersChecked.IsZero() || now.Sub(n.remindersChecked) >= ReminderCheck || now.Before(n.remindersChecked))
}

// alerts groups pending events per owner; once an owner's oldest event is
// GroupWait old, the group becomes one message.
func (n *Notifier) alerts(ctx context.Context, now time.Time, batch *store.NotifyBatch) error {
	// No owner's oldest event is older than the first one queued, so
	// until that is GroupWait old no group is due, and the step reads
	// that one alone: after a first evaluation every step of the window
	// read a million (1.3 s at 100,000 hosts). An event stamped earlier
	// than one queued before it (a clock set back, a slow commit) delays
	// its group by at most the difference.
	first, pending, err := n.st.OldestPendingEvent(ctx)
	if err != nil || !pending || now.Sub(first.At) < n.cfg.GroupWait {
		return err
	}
	events, err := n.st.PendingEvents(ctx)
	if err != nil {
		return err
	}
	// A group lists its events by index: a first evaluation queues a
	// million, and a copy of each in its group doubled what a step held.
	type group struct {
		project string
		events  []int32
		oldest  time.Time
	}
	groups := map[string]*group{}
	var order []string
	for i, e := range events {
		g := groups[e.Owner]
		if g == nil {
			g = &group{project: e.Project, oldest: e.At}
			groups[e.Owner] = g
			order = append(order, e.Owner)
		}
		g.events = append(g.events, int32(i))
	}
	held := 0 // bytes of the messages in batch.Deliveries
	for _, owner := range order {
		g := groups[owner]
		if now.Sub(g.oldest) < n.cfg.GroupWait {
			continue
		}
		own := make([]patchwatch.NotifyEvent, len(g.events))
		for k, i := range g.events {
			own[k] = events[i]
			batch.Consumed = append(batch.Consumed, events[i].Seq)
		}
		msg, notified, err := n.ownerAlert(ctx, owner, own, now)
		if err != nil {
			return err
		}
		if msg == nil {
			continue
		}
		if !n.Reachable(owner, g.project) {
			n.log.Warn("owner has no reachable contact; the admin digest lists them", "owner", owner)
			continue
		}
		ds := n.deliveries(msg.Kind, owner, g.project, n.render(msg), now)
		for i := range ds {
			held += len(ds[i].Text) + len(ds[i].HTML) + len(ds[i].Blocks)
		}
		batch.Deliveries = append(batch.Deliveries, ds...)
		for k, t := range notified {
			batch.Notified[k] = t
		}
		if held >= n.flushAt {
			if err := n.flush(ctx, batch); err != nil {
				return err
			}
			held = 0
		}
	}
	return nil
}

// flushAt is how many bytes of rendered messages a step holds before it
// commits what it decided so far: a first evaluation's alerts (every
// owner's, about a whole fleet's findings) were 3 GB at 100,000 hosts.
// Each commit holds the events it consumes with the messages and the
// notified times they give, so nothing is lost or told twice across
// them.
const flushAt = 64 << 20

// flush commits batch's consumed events, deliveries and notified times,
// and empties them: alerts does once their messages reach flushAt bytes.
func (n *Notifier) flush(ctx context.Context, batch *store.NotifyBatch) error {
	part := store.NotifyBatch{Consumed: batch.Consumed, Deliveries: batch.Deliveries, Notified: batch.Notified}
	if err := n.st.CommitNotify(ctx, part); err != nil {
		return err
	}
	batch.Consumed, batch.Deliveries, batch.Notified = nil, nil, map[[2]string]time.Time{}
	return nil
}

// reminders re-sends open findings at or above MinUrgency once their
// reminder interval has passed since they were last notified.
func (n *Notifier) reminders(ctx context.Context, now time.Time, batch *store.NotifyBatch) error {
	records, err := n.st.FindingRecords(ctx, "")
	if err != nil {
		return err
	}
	notified, err := n.st.Notified(ctx)
	if err != nil {
		return err
	}
	due := map[string]map[string][]string{} // owner -> host -> advisories
	for _, r := range records {
		interval := n.cfg.Reminders[r.Urgency]
		if !r.Open() || r.Urgency < n.cfg.MinUrgency || interval <= 0 {
			continue
		}
		last, ok := notified[[2]string{r.Host, r.Advisory}]
		if !ok || now.Sub(last) < interval || last.Before(r.FirstSeen) {
			// Not told yet (the alert path tells first), or told recently.
			continue
		}
		if _, pending := batch.Notified[[2]string{r.Host, r.Advisory}]; pending {
			continue
		}
		if due[r.Owner] == nil {
			due[r.Owner] = map[string][]string{}
		}
		due[r.Owner][r.Host] = append(due[r.Owner][r.Host], r.Advisory)
	}
	for owner, hosts := range due {
		msg, err := n.ownerMessage(ctx, "reminder", owner, hosts, nil, nil, now)
		if err != nil {
			return err
		}
		if msg == nil {
			continue
		}
		project := msg.Project
		if !n.Reachable(owner, project) {
			continue
		}
		batch.Deliveries = append(batch.Deliveries, n.deliveries("reminder", owner, project, n.render(msg), now)...)
		for host, advs := range hosts {
			for _, a := range advs {
				batch.Notified[[2]string{host, a}] = now
			}
		}
	}
	return nil
}
