package rhsa

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
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

// Cursor is what the poller remembers between polls.
type Cursor struct {
	Backfilled bool `json:"backfilled"`
	// BackfillNext is how many index.txt entries the backfill has stored.
	BackfillNext int              `json:"backfill_next,omitempty"`
	Changes      feeds.Validators `json:"changes"`
	// Since is the change time of the newest document stored from changes.csv.
	Since time.Time `json:"since"`
}

// Stats counts what one poll did.
type Stats struct {
	Fetched  int
	Rejected int
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
// changes.csv lists as changed since the cursor, oldest first.
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, commit Commit) (Stats, error) {
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
		if err := commit(ctx, nil, mustJSON(cur)); err != nil {
			return stats, err
		}
	}
	return stats, p.readChanges(ctx, &cur, &stats, commit)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}

// Change is one row of changes.csv.
type Change struct {
	Path string
	At   time.Time
}

// ParseChanges reads changes.csv: "2024/rhsa-2024_0010.json","2025-02-18T14:28:08+00:00".
func ParseChanges(data []byte) ([]Change, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 2
	var out []Change
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("changes.csv: %w", err)
		}
		at, err := time.Parse(time.RFC3339, rec[1])
		if err != nil {
			return nil, fmt.Errorf("changes.csv: time %q: %w", rec[1], err)
		}
		if !validPath(rec[0]) {
			return nil, fmt.Errorf("changes.csv: path %q", rec[0])
		}
		out = append(out, Change{Path: rec[0], At: at.UTC()})
	}
}

// validPath accepts the index's YYYY/rhsa-YYYY_NNNN.json paths only, so a
// hostile index cannot send the poller elsewhere.
func validPath(p string) bool {
	dir, file := path.Split(p)
	return len(dir) == 5 && strings.Trim(dir[:4], "0123456789") == "" && strings.HasPrefix(file, "rhsa-") &&
		strings.HasSuffix(file, ".json") && !strings.Contains(p, "..")
}

func (p *Poller) readChanges(ctx context.Context, cur *Cursor, stats *Stats, commit Commit) error {
	res, err := p.fetch.Fetch(ctx, p.cfg.BaseURL+"changes.csv", cur.Changes)
	if err != nil {
		return fmt.Errorf("rhsa changes: %w", err)
	}
	if res.NotModified {
		return nil
	}
	changes, err := ParseChanges(res.Body)
	if err != nil {
		return err
	}
	changes = slices.DeleteFunc(changes, func(c Change) bool { return !c.At.After(cur.Since) })
	slices.SortStableFunc(changes, func(a, b Change) int { return a.At.Compare(b.At) })
	for start := 0; start < len(changes); start += p.cfg.BatchSize {
		batch := changes[start:min(start+p.cfg.BatchSize, len(changes))]
		paths := make([]string, len(batch))
		for i, c := range batch {
			paths[i] = c.Path
		}
		advisories, err := p.fetchDocuments(ctx, paths, stats)
		if err != nil {
			// The cursor stays before this batch: the next poll retries it.
			return err
		}
		next := *cur
		next.Since = batch[len(batch)-1].At
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

// fetchDocuments GETs and parses documents in parallel. A fetch failure
// fails the batch; a document that does not parse is rejected and logged,
// since fetching it again would not change it.
func (p *Poller) fetchDocuments(ctx context.Context, paths []string, stats *Stats) ([]patchwatch.Advisory, error) {
	results := make([]*patchwatch.Advisory, len(paths))
	rejected := make([]bool, len(paths))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.Concurrency)
	for i, docPath := range paths {
		g.Go(func() error {
			res, err := p.fetch.Fetch(gctx, p.cfg.BaseURL+docPath, feeds.Validators{})
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
		return nil, err
	}
	var out []patchwatch.Advisory
	for i, a := range results {
		if rejected[i] {
			stats.Rejected++
		}
		if a != nil {
			out = append(out, *a)
			stats.Fetched++
		}
	}
	return out, nil
}

func (p *Poller) backfillIndex(ctx context.Context, cur *Cursor, stats *Stats, commit Commit) error {
	res, err := p.fetch.Fetch(ctx, p.cfg.BaseURL+"index.txt", feeds.Validators{})
	if err != nil {
		return err
	}
	var paths []string
	for line := range strings.Lines(string(res.Body)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !validPath(line) {
			return fmt.Errorf("index.txt: path %q", line)
		}
		paths = append(paths, line)
	}
	for cur.BackfillNext < len(paths) {
		end := min(cur.BackfillNext+p.cfg.BatchSize, len(paths))
		advisories, err := p.fetchDocuments(ctx, paths[cur.BackfillNext:end], stats)
		if err != nil {
			return err
		}
		next := *cur
		next.BackfillNext = end
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
