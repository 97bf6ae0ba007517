package server

import (
	"context"
	"net/http"
	"time"

	"github.com/patchwatch/patchwatch"
)

// FeedStatusSource is where the feed endpoint reads the pollers' statuses.
type FeedStatusSource interface {
	// FeedStatuses returns every feed's stored status, by feed name.
	FeedStatuses(ctx context.Context) ([]patchwatch.FeedStatus, error)
}

// FeedRow is one feed in GET /api/v1/feeds and `patchwatch feeds --format
// json`: its stored status, and whether it is stale (no successful round
// for more than patchwatch.FeedStaleAfter).
type FeedRow struct {
	patchwatch.FeedStatus
	Stale bool `json:"stale"`
}

// FeedRows turns statuses into rows at now.
func FeedRows(statuses []patchwatch.FeedStatus, now time.Time) []FeedRow {
	rows := make([]FeedRow, 0, len(statuses))
	for _, st := range statuses {
		rows = append(rows, FeedRow{FeedStatus: st, Stale: st.Stale(now, patchwatch.FeedStaleAfter)})
	}
	return rows
}

// feeds answers GET /api/v1/feeds, for admins.
func (s *Server) feeds(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r, patchwatch.TokenAdmin); err != nil {
		s.authFail(w, r, err)
		return
	}
	if s.opts.Feeds == nil {
		writeJSON(w, http.StatusOK, []FeedRow{})
		return
	}
	statuses, err := s.opts.Feeds.FeedStatuses(r.Context())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", err)
		return
	}
	writeJSON(w, http.StatusOK, FeedRows(statuses, s.now()))
}
