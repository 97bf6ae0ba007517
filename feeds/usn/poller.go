package usn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// legacy USN records read on the first poll, and again on each resync
	// (conditionally). "-" disables it.
	BackfillURL string
	// BackfillMaxBytes bounds the backfill archive's download; default 2 GiB.
	BackfillMaxBytes int64
	// DownloadDir holds the archive while it is read (beside the database);
	// default the system's temporary directory.
	DownloadDir string
	// ResyncInterval is how often the bulk export is read again to pick up
	// notices modified upstream; default 24h, negative disables.
	ResyncInterval time.Duration
	// MaxProbes bounds the notice numbers probed through the record URL in
	// one round; default 5000. The rest wait for the next round.
	MaxProbes int
	// BatchSize bounds the advisories committed in one transaction during backfill.
	BatchSize int
	// Limits bound each record and the whole archive once decompressed.
	Limits feeds.Limits
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
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
	// Probed is the notice number up to which every notice reachable at
	// its record URL is stored (USN-N-1, -2 … up to the first 404).
	Probed int `json:"probed,omitempty"`
	// Export holds the bulk export's validators, ExportDone the records of
	// an interrupted read already committed, Resynced the last complete read.
	Export     feeds.Validators `json:"export,omitzero"`
	ExportDone int              `json:"export_done,omitempty"`
	Resynced   time.Time        `json:"resynced,omitzero"`
}

// Poller reads the notices RSS feed and fetches each new notice's record,
// then every notice number the feed does not show.
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
	if cfg.DownloadDir == "" {
		cfg.DownloadDir = os.TempDir()
	}
	if cfg.ResyncInterval == 0 {
		cfg.ResyncInterval = 24 * time.Hour
	}
	if cfg.MaxProbes == 0 {
		cfg.MaxProbes = 5000
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 500
	}
	if cfg.Limits.Member == 0 || cfg.Limits.Total == 0 {
		cfg.Limits = feeds.Limits{Member: 64 << 20, Total: 16 << 30}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
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
	Fetched  int // records fetched and parsed
	Failed   int // records that could not be fetched or parsed
	Probed   int // notice IDs asked for by number, found or not
	Resynced int // records read again from the bulk export
}

// Poll runs one round: the backfill if it has not completed (or the daily
// resync when it is due), the RSS feed and the records of notices not seen
// before, then every notice number between the newest stored and the
// newest in the feed. Each part commits what it stores with the cursor
// that covers it, so a failed part leaves its own position where it was;
// a failed backfill does not stop the feed. The error joins one
// *feeds.PartError per failed part.
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, commit Commit) (Stats, error) {
	var cur Cursor
	if len(rawCursor) > 0 {
		if err := json.Unmarshal(rawCursor, &cur); err != nil {
			return Stats{}, fmt.Errorf("decode usn cursor: %w", err)
		}
	}
	var stats Stats
	var errs []error
	part := func(name string, err error) {
		if err != nil {
			errs = append(errs, &feeds.PartError{Feed: FeedName, Part: name, Err: err})
		}
	}
	if p.cfg.BackfillURL != "-" {
		if !cur.Backfilled {
			n, err := p.readExport(ctx, &cur, commit)
			stats.Fetched += n
			part("backfill", err)
		} else if p.cfg.ResyncInterval > 0 && p.cfg.Now().Sub(cur.Resynced) >= p.cfg.ResyncInterval {
			n, err := p.readExport(ctx, &cur, commit)
			stats.Resynced += n
			part("resync", err)
		}
	}
	if ctx.Err() != nil {
		return stats, errors.Join(append(errs, ctx.Err())...)
	}
	window, err := p.readFeed(ctx, &cur, &stats, commit)
	part("feed", err)
	if window.newest > 0 {
		part("holes", p.fillHoles(ctx, &cur, &stats, window, commit))
	}
	return stats, errors.Join(errs...)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}

// feedWindow is what one read of the feed showed.
type feedWindow struct {
	// stored holds the IDs stored (this round or before).
	stored map[string]bool
	// oldest and newest are the notice numbers the feed shows; 0 when it
	// could not be read.
	oldest, newest int
}

func windowOf(ids []string) feedWindow {
	w := feedWindow{stored: map[string]bool{}}
	for _, id := range ids {
		n := noticeNumber(id)
		if n == 0 {
			continue
		}
		w.newest = max(w.newest, n)
		if w.oldest == 0 || n < w.oldest {
			w.oldest = n
		}
	}
	return w
}

// readFeed reads the RSS window and stores the notices not seen before.
func (p *Poller) readFeed(ctx context.Context, cur *Cursor, stats *Stats, commit Commit) (feedWindow, error) {
	res, err := p.fetch.Fetch(ctx, p.cfg.FeedURL, cur.Feed)
	if err != nil {
		return feedWindow{}, err
	}
	if res.NotModified {
		p.log.Debug("feed not modified")
		w := windowOf(cur.Seen)
		for _, id := range cur.Seen {
			w.stored[id] = true
		}
		return w, nil
	}
	ids, err := ParseFeed(res.Body)
	if err != nil {
		return feedWindow{}, fmt.Errorf("%s: %w", p.cfg.FeedURL, err)
	}
	w := windowOf(ids)
	stored := w.stored
	for _, id := range cur.Seen {
		stored[id] = true
	}
	// The feed lists newest first; fetch oldest first so that the stored
	// history has no holes if the poll stops half-way.
	var failures []error
	window := []string{}
	for i := len(ids) - 1; i >= 0; i-- {
		id := ids[i]
		if stored[id] {
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
		next := *cur
		next.Seen = append(slices.Clone(cur.Seen), id)
		if err := commit(ctx, advisories, mustJSON(next)); err != nil {
			return w, fmt.Errorf("commit %s: %w", id, err)
		}
		*cur = next
		stored[id] = true
		stats.Fetched++
	}
	if len(failures) > 0 {
		// Keep the old feed validators: a 304 next time must not hide the
		// notices that failed now.
		return w, fmt.Errorf("%d of %d new notices failed: %w", len(failures), stats.Fetched+len(failures), errors.Join(failures...))
	}
	cur.Feed = res.Validators
	cur.Seen = window
	return w, commit(ctx, nil, mustJSON(*cur))
}

// lookahead is how many numbers past the feed's newest notice are asked
// for: the feed has stalled for days at a time, and notices published
// meanwhile are only reachable by number.
const lookahead = 3

// fillHoles fetches, by number, every notice after cur.Probed up to the
// feed's newest that is not already stored: USN-N-1, then -2, -3 … until
// a 404; then the numbers after the feed's newest, until lookahead in a
// row are missing. The feed shows only the last ten notices; on a busy day
// the rest are only reachable this way. cur.Probed advances past each
// number once all its notices are stored (committed with the records, and
// every 50 numbers), so a failure resumes there next round.
func (p *Poller) fillHoles(ctx context.Context, cur *Cursor, stats *Stats, w feedWindow, commit Commit) error {
	stored, newest := w.stored, w.newest
	if cur.Probed == 0 {
		// Nothing to measure the hole from (no backfill yet): start at
		// the feed's oldest notice.
		cur.Probed = w.oldest - 1
	}
	saved := cur.Probed
	save := func() error {
		if cur.Probed == saved {
			return nil
		}
		if err := commit(ctx, nil, mustJSON(*cur)); err != nil {
			return err
		}
		saved = cur.Probed
		return nil
	}
	probes := 0
	// probe stores every notice of number n not stored yet, and returns
	// how many notices n has.
	probe := func(n int) (int, error) {
		for k := 1; ; k++ {
			id := fmt.Sprintf("USN-%d-%d", n, k)
			if stored[id] {
				continue
			}
			if probes >= p.cfg.MaxProbes {
				return k - 1, fmt.Errorf("notice numbers USN-%d to USN-%d still to probe; %d probes per round", n, max(n, newest), p.cfg.MaxProbes)
			}
			probes++
			stats.Probed++
			advisories, err := p.fetchRecord(ctx, id)
			if feeds.IsNotFound(err) {
				return k - 1, nil
			}
			if err != nil {
				stats.Failed++
				return k - 1, fmt.Errorf("probe %s: %w", id, err)
			}
			if err := commit(ctx, advisories, mustJSON(*cur)); err != nil {
				return k - 1, fmt.Errorf("commit %s: %w", id, err)
			}
			saved = cur.Probed
			p.log.Info("notice stored by number (not in the feed window)", "id", id)
			stored[id] = true
			stats.Fetched++
		}
	}
	misses := 0
	for n := cur.Probed + 1; n <= newest || misses < lookahead; n++ {
		found, err := probe(n)
		if err != nil {
			return errors.Join(err, save())
		}
		if n > newest && found == 0 {
			misses++ // not published yet, or a number never used
			continue
		}
		misses = 0
		cur.Probed = n
		if n%50 == 0 {
			if err := save(); err != nil {
				return err
			}
		}
	}
	return save()
}

// noticeNumber returns N of USN-N-k, or 0.
func noticeNumber(id string) int {
	rest, ok := strings.CutPrefix(id, "USN-")
	if !ok {
		return 0
	}
	num, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0
	}
	return n
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

// readExport reads the bulk export into the store: the first time as the
// backfill, then as the resync that picks up notices modified upstream
// (a conditional GET; an unchanged export costs one request). The archive
// is downloaded to a file and read one record at a time; each batch is
// committed with the count of records it covers, so an interrupted read
// resumes after them, from the file that is kept until the read completes.
func (p *Poller) readExport(ctx context.Context, cur *Cursor, commit Commit) (int, error) {
	p.log.Info("reading the bulk export", "url", p.cfg.BackfillURL, "backfilled", cur.Backfilled)
	validators := cur.Export
	if !cur.Backfilled || cur.ExportDone > 0 {
		validators = feeds.Validators{}
	}
	dest := filepath.Join(p.cfg.DownloadDir, "patchwatch-usn-export")
	dl, err := p.fetch.Download(ctx, p.cfg.BackfillURL, validators, dest, p.cfg.BackfillMaxBytes)
	if err != nil {
		return 0, err
	}
	if dl.NotModified {
		next := *cur
		next.Resynced = p.cfg.Now()
		if err := commit(ctx, nil, mustJSON(next)); err != nil {
			return 0, err
		}
		*cur = next
		return 0, nil
	}
	if dl.Validators != cur.Export || dl.Validators == (feeds.Validators{}) {
		// Another version of the export (or one that cannot be told
		// apart): counts of the old one do not apply.
		cur.ExportDone = 0
	}
	cur.Export = dl.Validators
	total, rejected, index, newest := 0, 0, 0, cur.Probed
	var batch []patchwatch.Advisory
	flush := func() error {
		next := *cur
		next.ExportDone = index
		if err := commit(ctx, batch, mustJSON(next)); err != nil {
			return err
		}
		*cur = next
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	skip := func(name string) bool {
		base := path.Base(name)
		if !strings.HasSuffix(base, ".json") || strings.HasPrefix(base, "UBUNTU-CVE-") || strings.HasPrefix(base, "LSN-") {
			return true
		}
		index++
		return index <= cur.ExportDone // committed before an interruption
	}
	err = feeds.WalkArchiveFile(dl.Path, feeds.WalkOptions{Limits: p.cfg.Limits, Skip: skip}, func(m feeds.Member) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if m.Err != nil {
			rejected++
			p.log.Warn("export record rejected", "file", m.Name, "err", m.Err)
			return nil
		}
		advisories, err := Parse(m.Content)
		if err != nil {
			if !errors.Is(err, ErrNotUSN) {
				rejected++
				p.log.Warn("export record rejected", "file", m.Name, "err", err)
			}
			return nil
		}
		for _, a := range advisories {
			newest = max(newest, noticeNumber(a.ID))
		}
		batch = append(batch, advisories...)
		if len(batch) >= p.cfg.BatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return total, err
	}
	if err := flush(); err != nil {
		return total, err
	}
	next := *cur
	next.Backfilled, next.ExportDone, next.Resynced, next.Probed = true, 0, p.cfg.Now(), newest
	if err := commit(ctx, nil, mustJSON(next)); err != nil {
		return total, err
	}
	*cur = next
	if err := dl.Discard(); err != nil {
		p.log.Warn("downloaded export not removed", "file", dl.Path, "err", err)
	}
	p.log.Info("bulk export read", "advisories", total, "rejected", rejected, "newest", newest)
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
