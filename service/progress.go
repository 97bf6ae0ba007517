package service

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/patchwatch/patchwatch"
)

// ReevaluationFeed is the row of the feeds table (patchwatch feeds, GET
// /api/v1/feeds) that shows the full re-evaluation.
const ReevaluationFeed = patchwatch.ReevaluationFeed

// ProgressSink is implemented by stores that keep feed statuses (both do):
// the full re-evaluation then shows its progress in the feeds table.
type ProgressSink interface {
	// PutFeedStatus stores one feed's status, replacing the previous one.
	PutFeedStatus(ctx context.Context, st patchwatch.FeedStatus) error
}

// Reevaluation is the full re-evaluation's progress.
type Reevaluation struct {
	Running    bool
	HostsDone  int
	HostsTotal int
	Started    time.Time
}

// progress tracks the running re-evaluation and mirrors it into the feeds
// table (one small write per logged step, never inside the job's chunks).
type progress struct {
	mu       sync.Mutex
	cur      Reevaluation
	finished time.Time
}

// Reevaluation returns the full re-evaluation's progress: running, with
// the hosts done so far, or the last pass's totals.
func (e *Service) Reevaluation() Reevaluation {
	e.progress.mu.Lock()
	defer e.progress.mu.Unlock()
	return e.progress.cur
}

// reportProgress records done of total hosts and, when the store keeps
// feed statuses, shows it in the feeds table. err ends the pass as failed.
func (e *Service) reportProgress(ctx context.Context, done, total int, started time.Time, finished bool, err error) {
	p := e.setProgress(done, total, started, finished)
	p.mu.Lock()
	if finished && err == nil {
		p.finished = e.now()
	}
	st := patchwatch.FeedStatus{Feed: ReevaluationFeed, LastAttempt: started, LastSuccess: p.finished,
		Backfill: fmt.Sprintf("running: %d of %d hosts", done, total)}
	p.mu.Unlock()
	switch {
	case finished && err != nil:
		st.Backfill, st.LastError = "failed", "stopped before its end: "+err.Error()
	case finished:
		st.Backfill, st.LastDuration = "done", st.LastSuccess.Sub(started)
	}
	sink, ok := e.s.(ProgressSink)
	if !ok {
		return
	}
	if perr := sink.PutFeedStatus(context.WithoutCancel(ctx), st); perr != nil {
		e.log.Warn("record re-evaluation progress", "err", perr)
	}
}

// setProgress records the progress in memory only (every chunk).
func (e *Service) setProgress(done, total int, started time.Time, finished bool) *progress {
	p := &e.progress
	p.mu.Lock()
	p.cur = Reevaluation{Running: !finished, HostsDone: done, HostsTotal: total, Started: started}
	p.mu.Unlock()
	return p
}
