package usn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/mmcdole/gofeed"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
)

// Default locations of the Ubuntu sources.
const (
	DefaultFeedURL = "https://ubuntu.com/security/notices/rss.xml"
	// DefaultRecordURL names a notice's OSV record; {id} is replaced.
	DefaultRecordURL = "https://raw.githubusercontent.com/canonical/ubuntu-security-notices/main/osv/usn/{id}.json"
	// DefaultBackfillURL is OSV.dev's bulk export of the Ubuntu ecosystem:
	// every USN (and Ubuntu CVE record) in one zip.
	DefaultBackfillURL = "https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip"
)

// FeedName is the cursor name of this source.
const FeedName = "usn"

// Config locates the sources; empty fields take the defaults.
type Config struct {
	FeedURL   string
	RecordURL string
	// BackfillURL is an archive (zip or tar, possibly compressed) of OSV or
	// legacy USN records read once, on the first poll. "-" disables it.
	BackfillURL string
	// BackfillMaxBytes bounds the backfill archive; default 2 GiB.
	BackfillMaxBytes int64
	// BatchSize bounds the advisories committed in one transaction during backfill.
	BatchSize int
}

// Commit stores advisories and the cursor that covers them in one
// transaction; the poller calls it after each batch.
type Commit func(ctx context.Context, advisories []patchwatch.Advisory, cursor []byte) error

// Cursor is what the poller remembers between polls.
type Cursor struct {
	Backfilled bool             `json:"backfilled"`
	Feed       feeds.Validators `json:"feed"`
	// Seen lists the notice IDs of the last feed window that are stored.
	Seen []string `json:"seen"`
}

// Poller reads the notices RSS feed and fetches each new notice's record.
type Poller struct {
	cfg   Config
	fetch *feeds.Fetcher
	log   *slog.Logger
}

// NewPoller returns a Poller using fetch for every request.
func NewPoller(cfg Config, fetch *feeds.Fetcher, log *slog.Logger) *Poller {
	if cfg.FeedURL == "" {
		cfg.FeedURL = DefaultFeedURL
	}
	if cfg.RecordURL == "" {
		cfg.RecordURL = DefaultRecordURL
	}
	if cfg.BackfillURL == "" {
		cfg.BackfillURL = DefaultBackfillURL
	}
	if cfg.BackfillMaxBytes == 0 {
		cfg.BackfillMaxBytes = 2 << 30
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 500
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg, fetch: fetch, log: log.With("feed", FeedName)}
}

// Name returns the feed's cursor name.
func (p *Poller) Name() string { return FeedName }

// Stats counts what one poll did.
type Stats struct {
	Fetched int // records fetched and parsed
	Failed  int // records that could not be fetched or parsed
}

// Poll runs one round: the backfill if it has not completed, then the RSS
// feed and the records of notices not seen before. The cursor passed to
// commit only ever covers what that commit stores, so a failed poll leaves
// the stored cursor where it was and the next poll retries.
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, commit Commit) (Stats, error) {
	var cur Cursor
	if len(rawCursor) > 0 {
		if err := json.Unmarshal(rawCursor, &cur); err != nil {
			return Stats{}, fmt.Errorf("decode usn cursor: %w", err)
		}
	}
	var stats Stats
	if !cur.Backfilled && p.cfg.BackfillURL != "-" {
		n, err := p.backfill(ctx, &cur, commit)
		stats.Fetched += n
		if err != nil {
			return stats, fmt.Errorf("usn backfill: %w", err)
		}
	}
	res, err := p.fetch.Fetch(ctx, p.cfg.FeedURL, cur.Feed)
	if err != nil {
		return stats, fmt.Errorf("usn feed: %w", err)
	}
	if res.NotModified {
		p.log.Debug("feed not modified")
		return stats, nil
	}
	ids, err := ParseFeed(res.Body)
	if err != nil {
		return stats, fmt.Errorf("usn feed %s: %w", p.cfg.FeedURL, err)
	}
	seen := map[string]bool{}
	for _, id := range cur.Seen {
		seen[id] = true
	}
	// The feed lists newest first; fetch oldest first so that the stored
	// history has no holes if the poll stops half-way.
	var failures []error
	window := []string{}
	for i := len(ids) - 1; i >= 0; i-- {
		id := ids[i]
		if seen[id] {
			window = append(window, id)
			continue
		}
		advisories, err := p.fetchRecord(ctx, id)
		if err != nil {
			stats.Failed++
			failures = append(failures, err)
			p.log.Warn("notice record not stored", "id", id, "err", err)
			continue
		}
		window = append(window, id)
		next := cur
		next.Seen = append(slices.Clone(cur.Seen), id)
		if err := commit(ctx, advisories, mustJSON(next)); err != nil {
			return stats, fmt.Errorf("commit %s: %w", id, err)
		}
		cur = next
		stats.Fetched++
	}
	if len(failures) > 0 {
		// Keep the old feed validators: a 304 next time must not hide the
		// notices that failed now.
		return stats, fmt.Errorf("usn: %d of %d new notices failed: %w", len(failures), stats.Fetched+len(failures), errors.Join(failures...))
	}
	cur.Feed = res.Validators
	cur.Seen = window
	return stats, commit(ctx, nil, mustJSON(cur))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}

func (p *Poller) fetchRecord(ctx context.Context, id string) ([]patchwatch.Advisory, error) {
	url := strings.ReplaceAll(p.cfg.RecordURL, "{id}", id)
	res, err := p.fetch.Fetch(ctx, url, feeds.Validators{})
	if err != nil {
		return nil, err
	}
	advisories, err := Parse(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	for _, a := range advisories {
		if a.ID != id {
			return nil, fmt.Errorf("%s: record is %s, want %s", url, a.ID, id)
		}
	}
	return advisories, nil
}

func (p *Poller) backfill(ctx context.Context, cur *Cursor, commit Commit) (int, error) {
	p.log.Info("backfilling the whole USN history", "url", p.cfg.BackfillURL)
	res, err := p.fetch.FetchMax(ctx, p.cfg.BackfillURL, feeds.Validators{}, p.cfg.BackfillMaxBytes)
	if err != nil {
		return 0, err
	}
	total, rejected := 0, 0
	var batch []patchwatch.Advisory
	flush := func(final bool) error {
		next := *cur
		next.Backfilled = final
		if err := commit(ctx, batch, mustJSON(next)); err != nil {
			return err
		}
		*cur = next
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	err = feeds.EachArchiveFile(res.Body, 64<<20, func(name string, content []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := path.Base(name)
		if !strings.HasSuffix(base, ".json") || strings.HasPrefix(base, "UBUNTU-CVE-") || strings.HasPrefix(base, "LSN-") {
			return nil
		}
		advisories, err := Parse(content)
		if err != nil {
			if !errors.Is(err, ErrNotUSN) {
				rejected++
				p.log.Warn("backfill record rejected", "file", name, "err", err)
			}
			return nil
		}
		batch = append(batch, advisories...)
		if len(batch) >= p.cfg.BatchSize {
			return flush(false)
		}
		return nil
	})
	if err != nil {
		return total, err
	}
	if err := flush(true); err != nil {
		return total, err
	}
	p.log.Info("backfill complete", "advisories", total, "rejected", rejected)
	return total, nil
}

var feedID = regexp.MustCompile(`USN-\d+-\d+`)

// ParseFeed reads the notices RSS feed and returns the notice IDs it lists,
// newest first as the feed orders them.
func ParseFeed(data []byte) ([]string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty feed")
	}
	f, err := gofeed.NewParser().Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	var ids []string
	for _, item := range f.Items {
		id := feedID.FindString(item.Link)
		if id == "" {
			id = feedID.FindString(item.Title)
		}
		if id == "" {
			id = feedID.FindString(item.GUID)
		}
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
