package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
)

// Default archives: OSV.dev's bulk exports of each ecosystem, every record
// in one zip (AlmaLinux's are built from AlmaLinux/osv-database).
const (
	DefaultAlmaURL  = "https://osv-vulnerabilities.storage.googleapis.com/AlmaLinux/all.zip"
	DefaultRockyURL = "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip"
)

// Commit stores advisories and the cursor that covers them in one transaction.
type Commit func(ctx context.Context, advisories []patchwatch.Advisory, cursor []byte) error

// Cursor holds the validators of the archive last read whole, so an
// unchanged archive is not read again, and the progress of a read that was
// interrupted: Done records of the version Reading names are committed.
type Cursor struct {
	Archive feeds.Validators `json:"archive"`
	Reading feeds.Validators `json:"reading,omitzero"`
	Done    int              `json:"done,omitempty"`
}

// Stats counts what one poll did.
type Stats struct {
	Advisories, Rejected int
}

// Config locates one rebuild's archive; empty fields take the defaults.
type Config struct {
	// Name is the cursor's name, "alsa" or "rlsa".
	Name string
	URL  string
	// MaxBytes bounds the archive's download; default 1 GiB.
	MaxBytes int64
	// DownloadDir holds the archive while it is read (beside the
	// database); default the system's temporary directory.
	DownloadDir string
	// Limits bound each record and the whole archive once decompressed.
	Limits    feeds.Limits
	BatchSize int
}

// Poller reads one OSV archive of a rebuild's advisories.
type Poller struct {
	cfg   Config
	fetch *feeds.Fetcher
	log   *slog.Logger
}

// NewPoller returns a poller of the archive cfg names.
func NewPoller(cfg Config, fetch *feeds.Fetcher, log *slog.Logger) *Poller {
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 1 << 30
	}
	if cfg.DownloadDir == "" {
		cfg.DownloadDir = os.TempDir()
	}
	if cfg.Limits.Member == 0 || cfg.Limits.Total == 0 {
		cfg.Limits = feeds.Limits{Member: 64 << 20, Total: 16 << 30}
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 500
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg, fetch: fetch, log: log.With("feed", cfg.Name)}
}

// Name returns the feed's cursor name.
func (p *Poller) Name() string { return p.cfg.Name }

// Poll downloads the archive if it changed (to a file, streaming) and
// stores every security advisory in it, one record at a time. Each batch
// is committed with the count of records it covers: a read interrupted by
// a crash or a failed commit resumes after them, from the downloaded file
// (kept until the read completes) or a resumed download.
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, commit Commit) (Stats, error) {
	var cur Cursor
	if len(rawCursor) > 0 {
		if err := json.Unmarshal(rawCursor, &cur); err != nil {
			return Stats{}, fmt.Errorf("decode %s cursor: %w", p.cfg.Name, err)
		}
	}
	validators := cur.Archive
	if cur.Done > 0 {
		validators = feeds.Validators{} // finish the interrupted read first
	}
	dest := filepath.Join(p.cfg.DownloadDir, "patchwatch-"+p.cfg.Name+"-archive")
	dl, err := p.fetch.Download(ctx, p.cfg.URL, validators, dest, p.cfg.MaxBytes)
	if err != nil {
		return Stats{}, fmt.Errorf("%s archive: %w", p.cfg.Name, err)
	}
	if dl.NotModified {
		return Stats{}, nil
	}
	if dl.Validators != cur.Reading || dl.Validators == (feeds.Validators{}) {
		cur.Reading, cur.Done = dl.Validators, 0
	}
	var stats Stats
	var batch []patchwatch.Advisory
	index, records := 0, 0
	flush := func() error {
		next := cur
		next.Done = index
		if err := commit(ctx, batch, mustJSON(next)); err != nil {
			return err
		}
		cur = next
		batch = batch[:0]
		return nil
	}
	skip := func(name string) bool {
		if !strings.HasSuffix(name, ".json") {
			return true
		}
		index++
		return index <= cur.Done
	}
	err = feeds.WalkArchiveFile(dl.Path, feeds.WalkOptions{Limits: p.cfg.Limits, Skip: skip}, func(m feeds.Member) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		records++
		if m.Err != nil {
			stats.Rejected++
			p.log.Warn("record rejected", "file", m.Name, "err", m.Err)
			return nil
		}
		a, err := Parse(m.Content)
		if err != nil {
			if !errors.Is(err, patchwatch.ErrNotAdvisory) {
				stats.Rejected++
				p.log.Warn("record rejected", "file", m.Name, "err", err)
			}
			return nil
		}
		batch = append(batch, a)
		stats.Advisories++
		if len(batch) >= p.cfg.BatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return stats, fmt.Errorf("%s archive %s: %w", p.cfg.Name, p.cfg.URL, err)
	}
	if stats.Advisories == 0 && cur.Done == 0 {
		return stats, fmt.Errorf("%s archive %s: no advisories in %d bytes (%d records)", p.cfg.Name, p.cfg.URL, dl.Size, records)
	}
	if err := commit(ctx, batch, mustJSON(Cursor{Archive: dl.Validators})); err != nil {
		return stats, err
	}
	if err := dl.Discard(); err != nil {
		p.log.Warn("downloaded archive not removed", "file", dl.Path, "err", err)
	}
	return stats, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}
