package patchwatch

import (
	"slices"
	"strings"
	"time"
)

// FindingRecord is the life of one finding (host, advisory): when it was
// first seen, when its state last changed, when it was resolved, and how
// often it came back.
type FindingRecord struct {
	Host      string    `json:"host"`
	Owner     string    `json:"owner,omitempty"`
	Advisory  string    `json:"advisory"`
	Urgency   Urgency   `json:"urgency"`
	Status    Status    `json:"status"`
	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is when the finding was last seen changed: opened, reopened,
	// or its urgency, status or owner set anew. An open finding is seen at
	// every evaluation; stamping each one would rewrite every open record
	// of the fleet at every full re-evaluation and every report.
	LastSeen time.Time `json:"last_seen"`
	// ResolvedAt is zero while the finding is open.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// ResolvedBy says how it ended: "fixed" (a report showed the fixed
	// version), "host-removed", or "withdrawn" (its publisher withdrew the
	// advisory).
	ResolvedBy string `json:"resolved_by,omitempty"`
	Reopened   int    `json:"reopened,omitempty"`
}

// Open reports whether the finding is still open.
func (r *FindingRecord) Open() bool { return r.ResolvedAt.IsZero() }

// Event kinds produced by Reconcile.
const (
	EventOpened        = "opened"
	EventReopened      = "reopened"
	EventResolved      = "resolved"
	EventUrgencyRaised = "urgency-raised"
	EventPendingReboot = "pending-reboot"
)

// Event is one change in a finding's life, for notifications and reports.
type Event struct {
	Kind     string    `json:"kind"`
	Host     string    `json:"host"`
	Advisory string    `json:"advisory"`
	Urgency  Urgency   `json:"urgency,omitempty"`
	Previous Urgency   `json:"previous,omitempty"`
	At       time.Time `json:"at"`
}

// Reconcile compares a host's stored finding records with its current
// findings and returns the records to store and the events that happened:
// new findings open, missing ones resolve, resolved ones that come back
// reopen (a downgrade), and a rise in urgency or a move to pending-reboot
// is an event of its own.
func Reconcile(host, owner string, prev []FindingRecord, current []Finding, now time.Time) ([]FindingRecord, []Event) {
	return ReconcileInto(nil, host, owner, prev, current, now)
}

// ReconcileInto is Reconcile building the records in into's array when it
// has room (a caller done with the records of the host before); into
// must not share an array with prev.
func ReconcileInto(into []FindingRecord, host, owner string, prev []FindingRecord, current []Finding, now time.Time) ([]FindingRecord, []Event) {
	// Records are found by index, never by pointer: a new finding appends
	// to next, which moves it, and a pointer taken before would change
	// the old copy (an urgency rise or a reopening lost, and told again at
	// the next evaluation).
	next := slices.Grow(into[:0], len(prev)+len(current))[:len(prev)]
	copy(next, prev)
	seen := make([]bool, len(prev), cap(next))
	var byAdvisory map[string]int
	if len(prev)+len(current) > smallReconcile {
		byAdvisory = make(map[string]int, len(prev)+len(current))
		for i := range next {
			byAdvisory[next[i].Advisory] = i
		}
	}
	find := func(advisory string) int {
		if byAdvisory != nil {
			if i, ok := byAdvisory[advisory]; ok {
				return i
			}
			return -1
		}
		for i := range next {
			if next[i].Advisory == advisory {
				return i
			}
		}
		return -1
	}
	var events []Event
	if len(prev) == 0 {
		// A host's first findings are each an event.
		events = make([]Event, 0, len(current))
	}
	for k := range current {
		f := &current[k]
		i := find(f.Advisory)
		if i < 0 {
			next = append(next, FindingRecord{Host: host, Owner: owner, Advisory: f.Advisory, Urgency: f.Urgency, Status: f.Status, FirstSeen: now, LastSeen: now})
			seen = append(seen, true)
			if byAdvisory != nil {
				byAdvisory[f.Advisory] = len(next) - 1
			}
			events = append(events, Event{Kind: EventOpened, Host: host, Advisory: f.Advisory, Urgency: f.Urgency, At: now})
			if f.Status == StatusPendingReboot {
				events = append(events, Event{Kind: EventPendingReboot, Host: host, Advisory: f.Advisory, Urgency: f.Urgency, At: now})
			}
			continue
		}
		seen[i] = true
		r := &next[i] // used before the next append
		reopened := false
		switch {
		case !r.Open():
			r.ResolvedAt, r.ResolvedBy = time.Time{}, ""
			r.FirstSeen = now
			r.Reopened++
			reopened = true
			events = append(events, Event{Kind: EventReopened, Host: host, Advisory: f.Advisory, Urgency: f.Urgency, At: now})
		case f.Urgency > r.Urgency:
			events = append(events, Event{Kind: EventUrgencyRaised, Host: host, Advisory: f.Advisory, Urgency: f.Urgency, Previous: r.Urgency, At: now})
		}
		if f.Status == StatusPendingReboot && r.Status != StatusPendingReboot {
			events = append(events, Event{Kind: EventPendingReboot, Host: host, Advisory: f.Advisory, Urgency: f.Urgency, At: now})
		}
		if reopened || r.Urgency != f.Urgency || r.Status != f.Status || r.Owner != owner {
			r.Urgency, r.Status, r.LastSeen, r.Owner = f.Urgency, f.Status, now, owner
		}
	}
	for i := range next {
		r := &next[i]
		if r.Open() && !seen[i] {
			r.ResolvedAt, r.ResolvedBy = now, "fixed"
			events = append(events, Event{Kind: EventResolved, Host: host, Advisory: r.Advisory, Urgency: r.Urgency, At: now})
		}
	}
	slices.SortFunc(next, func(a, b FindingRecord) int { return strings.Compare(a.Advisory, b.Advisory) })
	return next, events
}

// smallReconcile is how many records Reconcile searches one by one
// rather than through a map.
const smallReconcile = 24

// ResolveHost closes every open record of a host that disappeared.
func ResolveHost(prev []FindingRecord, now time.Time) ([]FindingRecord, []Event) {
	next := slices.Clone(prev)
	var events []Event
	for i := range next {
		if next[i].Open() {
			next[i].ResolvedAt, next[i].ResolvedBy = now, "host-removed"
			events = append(events, Event{Kind: EventResolved, Host: next[i].Host, Advisory: next[i].Advisory, Urgency: next[i].Urgency, At: now})
		}
	}
	return next, events
}
