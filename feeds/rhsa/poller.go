package rhsa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
)

// DefaultBaseURL is the directory of Red Hat's CSAF advisories and their
// index files (changes.csv, index.txt, archive_latest.txt).
const DefaultBaseURL = "https://security.access.redhat.com/data/csaf/v2/advisories/"

// FeedName is the cursor name of this source.
const FeedName = "rhsa"

// Config locates the sources.
type Config struct {
	BaseURL string
	// Backfill selects how the first poll reads the whole history:
	// "archive" (the published .tar.zst named by archive_latest.txt) or
	// "index" (every document listed in index.txt, one GET each).
	Backfill string
	// ArchiveMaxBytes bounds the archive; default 4 GiB.
	ArchiveMaxBytes int64
	// Concurrency bounds parallel document fetches; default 4.
	Concurrency int
	// BatchSize bounds the advisories committed in one transaction.
	BatchSize int
	// DownloadDir holds the archive while it is read (beside the
	// database); default the system's temporary directory.
	DownloadDir string
}

// Commit stores advisories and the cursor that covers them in one transaction.
type Commit func(ctx context.Context, advisories []patchwatch.Advisory, cursor []byte) error

// Withdraw removes the advisories Red Hat withdrew (IDs that are not
// stored are ignored, and so is a stored copy modified after its
// withdrawal: Red Hat published it again), resolves the findings they
// caused, and stores the cursor, in one transaction.
type Withdraw func(ctx context.Context, deletions []Deletion, cursor []byte) error

// Sink is where a poll puts what it read.
type Sink struct {
	Advisories Commit
	// Withdraw may be nil: deletions.csv is then not read.
	Withdraw Withdraw
}

// maxMissing bounds the 404 documents the cursor remembers.
const maxMissing = 100

// Cursor is what the poller remembers between polls.
type Cursor struct {
	Backfilled bool `json:"backfilled"`
	// BackfillNext is how many index.txt entries the backfill has stored.
	BackfillNext int              `json:"backfill_next,omitempty"`
	Changes      feeds.Validators `json:"changes"`
	// Since and SincePath are the position, in changes.csv's order of time
	// then path, of the last row stored: rows that share a time with it
	// are told apart by their path, so a batch boundary or a crash between
	// two rows of the same second loses none. A cursor from before
	// SincePath existed re-reads the rows of its Since second once.
	Since     time.Time `json:"since"`
	SincePath string    `json:"since_path,omitempty"`
	// Deletions are the validators of deletions.csv as last applied.
	Deletions feeds.Validators `json:"deletions"`
	// Missing lists the newest documents the index named that answered
	// 404 or 410: skipped, not retried, and kept here for the record.
	Missing []string `json:"missing,omitempty"`
}

// after reports whether row c comes after the cursor's position.
func (cur *Cursor) after(c Change) bool {
	return c.At.After(cur.Since) || c.At.Equal(cur.Since) && c.Path > cur.SincePath
}

// recordMissing appends paths to the record of missing documents, each
// once, keeping the newest maxMissing.
func (cur *Cursor) recordMissing(paths []string) {
	for _, p := range paths {
		if i := slices.Index(cur.Missing, p); i >= 0 {
			cur.Missing = slices.Delete(cur.Missing, i, i+1)
		}
		cur.Missing = append(cur.Missing, p)
	}
	if n := len(cur.Missing); n > maxMissing {
		cur.Missing = slices.Clone(cur.Missing[n-maxMissing:])
	}
}

// Stats counts what one poll did.
type Stats struct {
	Fetched  int
	Rejected int
	// Skipped counts index rows (changes.csv, index.txt, deletions.csv)
	// that name no rhsa, rhba or rhea document.
	Skipped int
	// Missing counts listed documents that answered 404 or 410.
	Missing int
	// Withdrawn counts the advisories deletions.csv lists, when it changed.
	Withdrawn int
}

// Poller reads Red Hat's CSAF index files and the documents they name.
type Poller struct {
	cfg   Config
	fetch *feeds.Fetcher
	log   *slog.Logger
	now   func() time.Time
}

// NewPoller returns a Poller using fetch for every request.
func NewPoller(cfg Config, fetch *feeds.Fetcher, log *slog.Logger) *Poller {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}
	if cfg.Backfill == "" {
		cfg.Backfill = "archive"
	}
	if cfg.ArchiveMaxBytes == 0 {
		cfg.ArchiveMaxBytes = 4 << 30
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 200
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg, fetch: fetch, log: log.With("feed", FeedName), now: time.Now}
}

// Name returns the feed's cursor name.
func (p *Poller) Name() string { return FeedName }

// Poll runs one round: the backfill until it completes, then the documents
// changes.csv lists as changed since the cursor, oldest first, then the
// withdrawals deletions.csv lists. A failure of changes.csv does not stop
// the withdrawals, nor the reverse; the error joins both.
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, sink Sink) (Stats, error) {
	commit := sink.Advisories
	var cur Cursor
	if len(rawCursor) > 0 {
		if err := json.Unmarshal(rawCursor, &cur); err != nil {
			return Stats{}, fmt.Errorf("decode rhsa cursor: %w", err)
		}
	}
	var stats Stats
	if !cur.Backfilled {
		started := p.now().UTC()
		var err error
		if p.cfg.Backfill == "index" {
			err = p.backfillIndex(ctx, &cur, &stats, commit)
		} else {
			err = p.backfillArchive(ctx, &cur, &stats, commit)
		}
		if err != nil {
			return stats, fmt.Errorf("rhsa backfill: %w", err)
		}
		if cur.Since.IsZero() {
			// The archive is older than today: changes.csv covers the gap
			// from a day before the backfill started.
			cur.Since = started.Add(-24 * time.Hour)
		}
		cur.Backfilled = true
		// The backfill may hold documents withdrawn since its archive was
		// made: read deletions.csv again, whatever its validators say.
		cur.Deletions = feeds.Validators{}
		if err := commit(ctx, nil, mustJSON(cur)); err != nil {
			return stats, err
		}
	}
	errChanges := p.readChanges(ctx, &cur, &stats, commit)
	errDeletions := p.readDeletions(ctx, &cur, &stats, sink.Withdraw)
	return stats, errors.Join(errChanges, errDeletions)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}

// warnSkipped logs one warning for the rows of an index file that were
// not understood.
func (p *Poller) warnSkipped(file string, skipped Skipped, stats *Stats) {
	if skipped.Rows == 0 {
		return
	}
	stats.Skipped += skipped.Rows
	p.log.Warn("index rows skipped: not a YYYY/{rhsa,rhba,rhea}-YYYY_NNNN.json path with a time",
		"file", file, "rows", skipped.Rows, "first", truncateString(skipped.First, 200))
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// pending returns the rows of changes.csv the cursor has not passed, each
// path once (at its latest time), in order of time then path.
func pending(changes []Change, cur *Cursor) []Change {
	latest := make(map[string]time.Time, len(changes))
	for _, c := range changes {
		if at, ok := latest[c.Path]; !ok || c.At.After(at) {
			latest[c.Path] = c.At
		}
	}
	out := make([]Change, 0, len(latest))
	for path, at := range latest {
		if c := (Change{Path: path, At: at}); cur.after(c) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out
}

func (p *Poller) readChanges(ctx context.Context, cur *Cursor, stats *Stats, commit Commit) error {
	res, err := p.fetch.Fetch(ctx, p.cfg.BaseURL+"changes.csv", cur.Changes)
	if err != nil {
		return fmt.Errorf("rhsa changes: %w", err)
	}
	if res.NotModified {
		return nil
	}
	all, skipped := ParseChanges(res.Body)
	p.warnSkipped("changes.csv", skipped, stats)
	changes := pending(all, cur)
	for start := 0; start < len(changes); start += p.cfg.BatchSize {
		batch := changes[start:min(start+p.cfg.BatchSize, len(changes))]
		paths := make([]string, len(batch))
		for i, c := range batch {
			paths[i] = c.Path
		}
		advisories, missing, err := p.fetchDocuments(ctx, paths, stats)
		if err != nil {
			// The cursor stays before this batch: the next poll retries it.
			return err
		}
		next := *cur
		last := batch[len(batch)-1]
		next.Since, next.SincePath = last.At, last.Path
		next.recordMissing(missing)
		if start+len(batch) == len(changes) {
			next.Changes = res.Validators
		}
		if err := commit(ctx, advisories, mustJSON(next)); err != nil {
			return err
		}
		*cur = next
	}
	if len(changes) == 0 {
		next := *cur
		next.Changes = res.Validators
		if err := commit(ctx, nil, mustJSON(next)); err != nil {
			return err
		}
		*cur = next
	}
	return nil
}

// readDeletions applies deletions.csv when it changed. A site without one
// (404) has withdrawn nothing.
func (p *Poller) readDeletions(ctx context.Context, cur *Cursor, stats *Stats, withdraw Withdraw) error {
	if withdraw == nil {
		return nil
	}
	res, err := p.fetch.Fetch(ctx, p.cfg.BaseURL+"deletions.csv", cur.Deletions)
	if err != nil {
		if gone(err) {
			p.log.Debug("no deletions.csv", "err", err)
			return nil
		}
		return fmt.Errorf("rhsa deletions: %w", err)
	}
	if res.NotModified {
		return nil
	}
	deletions, skipped := ParseDeletions(res.Body)
	p.warnSkipped("deletions.csv", skipped, stats)
	next := *cur
	next.Deletions = res.Validators
	if err := withdraw(ctx, deletions, mustJSON(next)); err != nil {
		return fmt.Errorf("rhsa withdraw: %w", err)
	}
	*cur = next
	stats.Withdrawn += len(deletions)
	return nil
}

// gone reports whether a fetch failed because the document does not exist
// (404 Not Found, 410 Gone): asking again would not bring it back.
func gone(err error) bool { return feeds.IsNotFound(err) }

// fetchDocuments GETs and parses documents in parallel. A document that
// answers 404 or 410 is skipped and returned in missing, so that it never
// holds the cursor back; any other fetch failure (timeout, 5xx) fails the
// batch. A document that does not parse is rejected and logged, since
// fetching it again would not change it.
func (p *Poller) fetchDocuments(ctx context.Context, paths []string, stats *Stats) (advisories []patchwatch.Advisory, missing []string, err error) {
	results := make([]*patchwatch.Advisory, len(paths))
	rejected := make([]bool, len(paths))
	absent := make([]bool, len(paths))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.Concurrency)
	for i, docPath := range paths {
		g.Go(func() error {
			res, err := p.fetch.Fetch(gctx, p.cfg.BaseURL+docPath, feeds.Validators{})
			if gone(err) {
				absent[i] = true
				p.log.Warn("listed document missing; skipped", "path", docPath, "err", err)
				return nil
			}
			if err != nil {
				return fmt.Errorf("rhsa document %s: %w", docPath, err)
			}
			a, err := Parse(res.Body)
			if err != nil {
				if !errors.Is(err, patchwatch.ErrNotAdvisory) {
					rejected[i] = true
					p.log.Error("document rejected", "path", docPath, "err", err)
				}
				return nil
			}
			results[i] = &a
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for i, a := range results {
		if rejected[i] {
			stats.Rejected++
		}
		if absent[i] {
			stats.Missing++
			missing = append(missing, paths[i])
		}
		if a != nil {
			advisories = append(advisories, *a)
			stats.Fetched++
		}
	}
	return advisories, missing, nil
}

func (p *Poller) backfillIndex(ctx context.Context, cur *Cursor, stats *Stats, commit Commit) error {
	res, err := p.fetch.Fetch(ctx, p.cfg.BaseURL+"index.txt", feeds.Validators{})
	if err != nil {
		return err
	}
	paths, skipped := ParseIndex(res.Body)
	p.warnSkipped("index.txt", skipped, stats)
	for cur.BackfillNext < len(paths) {
		end := min(cur.BackfillNext+p.cfg.BatchSize, len(paths))
		advisories, missing, err := p.fetchDocuments(ctx, paths[cur.BackfillNext:end], stats)
		if err != nil {
			return err
		}
		next := *cur
		next.BackfillNext = end
		next.recordMissing(missing)
		if err := commit(ctx, advisories, mustJSON(next)); err != nil {
			return err
		}
		*cur = next
	}
	return nil
}

func (p *Poller) backfillArchive(ctx context.Context, cur *Cursor, stats *Stats, commit Commit) error {
	res, err := p.fetch.Fetch(ctx, p.cfg.BaseURL+"archive_latest.txt", feeds.Validators{})
	if err != nil {
		return err
	}
	name := strings.TrimSpace(string(res.Body))
	if name == "" || strings.ContainsAny(name, "/\\ ") || !strings.HasSuffix(name, ".tar.zst") {
		return fmt.Errorf("archive_latest.txt names %q, not a .tar.zst file", name)
	}
	// csaf_advisories_2025-02-15.tar.zst: changes.csv continues from that day.
	if day, ok := strings.CutPrefix(strings.TrimSuffix(name, ".tar.zst"), "csaf_advisories_"); ok {
		if t, err := time.Parse(time.DateOnly, day); err == nil {
			cur.Since = t.Add(-24 * time.Hour)
		}
	}
	// Streamed to a file and read one document at a time: the archive
	// expands to about 6 GB of JSON.
	dir := p.cfg.DownloadDir
	if dir == "" {
		dir = os.TempDir()
	}
	archive, err := p.fetch.Download(ctx, p.cfg.BaseURL+name, feeds.Validators{}, filepath.Join(dir, "patchwatch-rhsa-archive"), p.cfg.ArchiveMaxBytes)
	if err != nil {
		return err
	}
	var batch []patchwatch.Advisory
	opts := feeds.WalkOptions{
		Limits: feeds.Limits{Member: 256 << 20, Total: feeds.DefaultLimits.Total},
		Skip:   func(file string) bool { return !strings.HasSuffix(file, ".json") },
	}
	err = feeds.WalkArchiveFile(archive.Path, opts, func(m feeds.Member) error {
		file, content := m.Name, m.Content
		if m.Err != nil {
			stats.Rejected++
			p.log.Error("archive document rejected", "file", file, "err", m.Err)
			return nil
		}
		a, err := Parse(content)
		if err != nil {
			if !errors.Is(err, patchwatch.ErrNotAdvisory) {
				stats.Rejected++
				p.log.Error("archive document rejected", "file", file, "err", err)
			}
			return nil
		}
		batch = append(batch, a)
		stats.Fetched++
		if len(batch) >= p.cfg.BatchSize {
			err := commit(ctx, batch, mustJSON(*cur))
			batch = nil
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := commit(ctx, batch, mustJSON(*cur)); err != nil {
		return err
	}
	if err := archive.Discard(); err != nil {
		p.log.Warn("downloaded archive not removed", "file", archive.Path, "err", err)
	}
	return nil
}
