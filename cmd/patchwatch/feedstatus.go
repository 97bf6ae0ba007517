package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/dsa"
	"github.com/patchwatch/patchwatch/feeds/kev"
)

// Backfill states of patchwatch.FeedStatus.
const (
	backfillPending = "pending"
	backfillRunning = "running"
	backfillDone    = "done"
	backfillFailed  = "failed"
)

// backfiller is a poller whose first round reads the source's whole
// history; its cursor says when that is done.
type backfiller interface {
	hasBackfill() bool
}

// backfilled reports whether a feed cursor records a finished backfill:
// the usn and rhsa cursors are JSON objects with "backfilled": true.
func backfilled(cursor []byte) bool {
	var c struct {
		Backfilled bool `json:"backfilled"`
	}
	return json.Unmarshal(cursor, &c) == nil && c.Backfilled
}

// feedSources maps a feed to the advisory sources it stores; kev stores
// catalog entries instead.
func feedSources(feed string) []patchwatch.Source {
	switch feed {
	case dsa.FeedName:
		return []patchwatch.Source{patchwatch.SourceDSA, patchwatch.SourceDLA}
	case kev.FeedName:
		return nil
	}
	return []patchwatch.Source{patchwatch.Source(feed)}
}

// feedRecorder keeps each feed's status (patchwatch feeds, the metrics,
// the admin digest) as the poll loop runs it, and logs a long backfill's
// progress.
type feedRecorder struct {
	s   feedStore
	log *slog.Logger
	now func() time.Time
	// onStatus receives every feed's status at the end of its round (metrics).
	onStatus func(st patchwatch.FeedStatus, err error)
	// progressEvery is the pause between two backfill progress lines.
	progressEvery time.Duration
	// countsKnown is set once the stored counts were read; after that they
	// are read again only after a round that stored something.
	countsKnown bool
}

func newFeedRecorder(s feedStore, log *slog.Logger, now func() time.Time, onStatus func(patchwatch.FeedStatus, error)) *feedRecorder {
	if now == nil {
		now = time.Now
	}
	return &feedRecorder{s: s, log: log, now: now, onStatus: onStatus, progressEvery: 5 * time.Second}
}

// status returns the stored status of feed, or a new one.
func (r *feedRecorder) status(ctx context.Context, feed string) patchwatch.FeedStatus {
	all, err := r.s.FeedStatuses(ctx)
	if err != nil {
		r.log.Warn("read feed status", "feed", feed, "err", err)
	}
	for _, st := range all {
		if st.Feed == feed {
			return st
		}
	}
	return patchwatch.FeedStatus{Feed: feed}
}

// begin records the start of a feed's round and, while its backfill runs,
// logs the records stored so far every progressEvery. The returned
// function ends the progress log.
func (r *feedRecorder) begin(ctx context.Context, p poller, stored *atomic.Int64) (patchwatch.FeedStatus, func()) {
	st := r.status(ctx, p.Name())
	st.LastAttempt = r.now().UTC()
	b, ok := p.(backfiller)
	if !ok || !b.hasBackfill() {
		st.Backfill = ""
		r.put(ctx, st)
		return st, func() {}
	}
	cursor, err := r.s.Cursor(ctx, p.Name())
	if err == nil && backfilled(cursor) {
		st.Backfill = backfillDone
		r.put(ctx, st)
		return st, func() {}
	}
	st.Backfill = backfillRunning
	r.put(ctx, st)
	done := make(chan struct{})
	base := stored.Load()
	start := time.Now()
	go func() {
		t := time.NewTicker(r.progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				r.log.Info("backfill progress", "feed", p.Name(), "records", stored.Load()-base,
					"elapsed", time.Since(start).Round(time.Second))
			}
		}
	}()
	return st, func() { close(done) }
}

// end records the outcome of a feed's round.
func (r *feedRecorder) end(ctx context.Context, p poller, st patchwatch.FeedStatus, duration time.Duration, err error) patchwatch.FeedStatus {
	st.LastDuration = duration
	if err != nil {
		st.LastError = oneLine(redactURLPasswords(err.Error()), 500)
	} else {
		st.LastSuccess = r.now().UTC()
		st.LastError = ""
	}
	if st.Backfill == backfillRunning {
		cursor, cerr := r.s.Cursor(ctx, p.Name())
		switch {
		case cerr == nil && backfilled(cursor):
			st.Backfill = backfillDone
		case err != nil:
			st.Backfill = backfillFailed
		default:
			// The round succeeded but stored part of the history: the next
			// round goes on from the cursor.
			st.Backfill = backfillPending
		}
	}
	return st
}

// finish stores the round's statuses with the advisory counts, and hands
// each to onStatus. changed says whether the round stored anything.
func (r *feedRecorder) finish(ctx context.Context, statuses []patchwatch.FeedStatus, errs []error, changed bool) {
	if changed || !r.countsKnown {
		sources, err := r.s.SourceStats(ctx)
		kevStats, kerr := r.s.KEVStats(ctx)
		if err == nil && kerr == nil {
			r.countsKnown = true
			for i := range statuses {
				st := &statuses[i]
				if st.Feed == kev.FeedName {
					st.Advisories, st.NewestPublished = kevStats.Advisories, kevStats.NewestPublished
					continue
				}
				st.Advisories, st.NewestPublished = 0, time.Time{}
				for _, src := range feedSources(st.Feed) {
					s := sources[src]
					st.Advisories += s.Advisories
					if s.NewestPublished.After(st.NewestPublished) {
						st.NewestPublished = s.NewestPublished
					}
				}
			}
		} else {
			r.log.Warn("count stored advisories", "err", errors.Join(err, kerr))
		}
	}
	for i, st := range statuses {
		r.put(ctx, st)
		if r.onStatus != nil {
			r.onStatus(st, errs[i])
		}
	}
}

// urlPassword finds the password of a URL with credentials in a text.
var urlPassword = regexp.MustCompile(`(://[^/\s:@]+):[^/\s@]+@`)

// redactURLPasswords hides the passwords of URLs in an error's text (a
// feed mirror behind basic auth): the status is shown to every admin.
func redactURLPasswords(s string) string {
	return urlPassword.ReplaceAllString(s, "${1}:xxxxx@")
}

func (r *feedRecorder) put(ctx context.Context, st patchwatch.FeedStatus) {
	if err := r.s.PutFeedStatus(context.WithoutCancel(ctx), st); err != nil {
		r.log.Warn("store feed status", "feed", st.Feed, "err", err)
	}
}
