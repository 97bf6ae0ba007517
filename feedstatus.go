package patchwatch

import "time"

// FeedStatus is what an operator needs to know to trust one advisory source:
// when it was last tried, when it last succeeded, why it last failed, how
// much it has stored and how far its first backfill has come.
type FeedStatus struct {
	Feed        string    `json:"feed"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastError is the last failed round's error (secrets redacted); empty
	// once a round succeeds.
	LastError string `json:"last_error,omitempty"`
	// Advisories is how many advisories of this feed are stored.
	Advisories int `json:"advisories"`
	// NewestPublished is the publication time of the newest stored advisory.
	NewestPublished time.Time `json:"newest_published,omitzero"`
	// Backfill is the first backfill's state: "pending", "running",
	// "done", "failed" or "" when the source has none.
	Backfill string `json:"backfill,omitempty"`
	// LastDuration is how long the last round took.
	LastDuration time.Duration `json:"last_duration_ns,omitempty"`
}

// ReevaluationFeed names the row of the feed statuses that shows the full
// re-evaluation of the stored findings (a job, not a source): last_attempt
// is when the last pass started, last_success when one last finished,
// backfill "running: N of M hosts", "done" or "failed" (last_error says
// why).
const ReevaluationFeed = "re-evaluation"

// Stale reports whether the feed has not succeeded for longer than maxAge
// at now. The re-evaluation row is never stale: passes run when something
// calls for one, not on a schedule.
func (s FeedStatus) Stale(now time.Time, maxAge time.Duration) bool {
	if s.Feed == ReevaluationFeed {
		return false
	}
	return s.LastSuccess.IsZero() || now.Sub(s.LastSuccess) > maxAge
}

// FeedStaleAfter is how long a feed may go without a successful round
// before patchwatch feeds and the admin digest call it stale.
const FeedStaleAfter = 6 * time.Hour
