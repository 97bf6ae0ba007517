package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// Cursor holds the archive's validators: an unchanged archive is not read again.
type Cursor struct {
	Archive feeds.Validators `json:"archive"`
}

// Stats counts what one poll did.
type Stats struct {
	Advisories, Rejected int
}

// Poller reads one OSV archive of a rebuild's advisories.
type Poller struct {
	name, url string
	maxBytes  int64
	batch     int
	fetch     *feeds.Fetcher
	log       *slog.Logger
}

// NewPoller returns a poller named name (its cursor's name, "alsa" or
// "rlsa") of the archive at url.
func NewPoller(name, url string, maxBytes int64, fetch *feeds.Fetcher, log *slog.Logger) *Poller {
	if maxBytes == 0 {
		maxBytes = 1 << 30
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{name: name, url: url, maxBytes: maxBytes, batch: 500, fetch: fetch, log: log.With("feed", name)}
}

// Name returns the feed's cursor name.
func (p *Poller) Name() string { return p.name }

// Poll fetches the archive if it changed and stores every security
// advisory in it; the validators are committed with the last batch, so an
// interrupted import is read again whole next time (unchanged records are
// recognized and left alone).
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, commit Commit) (Stats, error) {
	var cur Cursor
	if len(rawCursor) > 0 {
		if err := json.Unmarshal(rawCursor, &cur); err != nil {
			return Stats{}, fmt.Errorf("decode %s cursor: %w", p.name, err)
		}
	}
	res, err := p.fetch.FetchMax(ctx, p.url, cur.Archive, p.maxBytes)
	if err != nil {
		return Stats{}, fmt.Errorf("%s archive: %w", p.name, err)
	}
	if res.NotModified {
		return Stats{}, nil
	}
	var stats Stats
	var batch []patchwatch.Advisory
	err = feeds.EachArchiveFile(res.Body, 64<<20, func(name string, content []byte) error {
		if !strings.HasSuffix(name, ".json") {
			return nil
		}
		a, err := Parse(content)
		if err != nil {
			if !errors.Is(err, patchwatch.ErrNotAdvisory) {
				stats.Rejected++
				p.log.Warn("record rejected", "file", name, "err", err)
			}
			return nil
		}
		batch = append(batch, a)
		stats.Advisories++
		if len(batch) >= p.batch {
			err := commit(ctx, batch, rawCursor)
			batch = nil
			return err
		}
		return nil
	})
	if err != nil {
		return stats, fmt.Errorf("%s archive %s: %w", p.name, p.url, err)
	}
	if stats.Advisories == 0 {
		return stats, fmt.Errorf("%s archive %s: no advisories in %d bytes", p.name, p.url, len(res.Body))
	}
	next, _ := json.Marshal(Cursor{Archive: res.Validators})
	return stats, commit(ctx, batch, next)
}
