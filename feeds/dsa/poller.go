package dsa

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/mmcdole/gofeed"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
)

// Default locations of the Debian sources.
const (
	DefaultRDFURL     = "https://www.debian.org/security/dsa-long.rdf"
	DefaultDSAListURL = "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DSA/list"
	DefaultDLAListURL = "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DLA/list"
)

// FeedName is the cursor name of this source.
const FeedName = "debian"

// Config locates the sources; empty fields take the defaults and "-"
// disables the DLA list or the tracker JSON.
type Config struct {
	RDFURL     string
	DSAListURL string
	DLAListURL string
	TrackerURL string
	// TrackerMaxBytes bounds the tracker JSON; default 512 MiB.
	TrackerMaxBytes int64
	// DownloadDir is where the tracker JSON is saved while it is read
	// (conventionally beside the database); default the system's
	// temporary folder.
	DownloadDir string
}

// Sink stores what the poller reads, each call in one transaction with
// the cursor that covers it.
type Sink struct {
	Advisories func(ctx context.Context, advisories []patchwatch.Advisory, cursor []byte) error
	Urgencies  func(ctx context.Context, urgencies []patchwatch.CVEUrgency, cursor []byte) error
}

// Cursor is what the poller remembers between polls.
type Cursor struct {
	RDF     feeds.Validators `json:"rdf"`
	DSAList feeds.Validators `json:"dsa_list"`
	DLAList feeds.Validators `json:"dla_list"`
	Tracker feeds.Validators `json:"tracker"`
	// Seen lists the advisory IDs of the last RDF window that are stored;
	// Pending those the RDF announced before the list carried them.
	Seen    []string `json:"seen"`
	Pending []string `json:"pending,omitempty"`
}

// Stats counts what one poll did.
type Stats struct {
	Advisories int // advisories handed to the sink
	Rejected   int // list entries rejected (each logged with its line)
	Urgencies  int
}

// Poller reads the DSA RDF feed as the trigger and the security tracker's
// list files for the fix data.
type Poller struct {
	cfg   Config
	fetch *feeds.Fetcher
	log   *slog.Logger
}

// NewPoller returns a Poller using fetch for every request.
func NewPoller(cfg Config, fetch *feeds.Fetcher, log *slog.Logger) *Poller {
	if cfg.RDFURL == "" {
		cfg.RDFURL = DefaultRDFURL
	}
	if cfg.DSAListURL == "" {
		cfg.DSAListURL = DefaultDSAListURL
	}
	if cfg.DLAListURL == "" {
		cfg.DLAListURL = DefaultDLAListURL
	}
	if cfg.TrackerURL == "" {
		cfg.TrackerURL = DefaultTrackerURL
	}
	if cfg.TrackerMaxBytes == 0 {
		cfg.TrackerMaxBytes = 512 << 20
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg, fetch: fetch, log: log.With("feed", FeedName)}
}

// Name returns the feed's cursor name.
func (p *Poller) Name() string { return FeedName }

// Poll runs one round. The DSA list is fetched on the first poll (the whole
// history), and afterwards when the RDF feed announces an advisory not seen
// before (or one announced earlier is still missing from the list); the DLA
// list and the tracker JSON are fetched conditionally every round. Each part
// is committed with its own cursor fields, so a failure leaves the rest of
// the cursor where it was.
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, sink Sink) (Stats, error) {
	var cur Cursor
	if len(rawCursor) > 0 {
		if err := json.Unmarshal(rawCursor, &cur); err != nil {
			return Stats{}, fmt.Errorf("decode debian cursor: %w", err)
		}
	}
	var stats Stats
	var errs []error

	announced, rdfValidators, err := p.readRDF(ctx, cur)
	if err != nil {
		errs = append(errs, err)
	}
	fresh := []string{}
	for _, id := range announced {
		if !slices.Contains(cur.Seen, id) {
			fresh = append(fresh, id)
		}
	}
	wanted := append(slices.Clone(cur.Pending), fresh...)
	if cur.DSAList == (feeds.Validators{}) || len(wanted) > 0 {
		if err := p.readList(ctx, &cur, &stats, sink, p.cfg.DSAListURL, dsaList, func(next *Cursor, stored map[string]bool) {
			next.RDF = rdfValidators
			next.Seen, next.Pending = nil, nil
			for _, id := range append(slices.Clone(announced), wanted...) {
				if stored[id] && !slices.Contains(next.Seen, id) {
					next.Seen = append(next.Seen, id)
				}
			}
			for _, id := range wanted {
				if !stored[id] && !slices.Contains(next.Pending, id) {
					next.Pending = append(next.Pending, id)
				}
			}
		}); err != nil {
			errs = append(errs, err)
		}
	} else if rdfValidators != cur.RDF {
		// Nothing new announced: remember the feed's validators for a 304.
		next := cur
		next.RDF = rdfValidators
		if err := p.commit(ctx, &cur, &next, sink, nil); err != nil {
			errs = append(errs, err)
		}
	}
	if p.cfg.DLAListURL != "-" {
		if err := p.readList(ctx, &cur, &stats, sink, p.cfg.DLAListURL, dlaList, nil); err != nil {
			errs = append(errs, err)
		}
	}
	if p.cfg.TrackerURL != "-" && sink.Urgencies != nil {
		if err := p.readTracker(ctx, &cur, &stats, sink); err != nil {
			errs = append(errs, err)
		}
	}
	return stats, errors.Join(errs...)
}

func (p *Poller) readRDF(ctx context.Context, cur Cursor) ([]string, feeds.Validators, error) {
	res, err := p.fetch.Fetch(ctx, p.cfg.RDFURL, cur.RDF)
	if err != nil {
		return nil, cur.RDF, fmt.Errorf("debian rdf: %w", err)
	}
	if res.NotModified {
		return cur.Seen, cur.RDF, nil
	}
	ids, err := ParseRDF(res.Body)
	if err != nil {
		return nil, cur.RDF, fmt.Errorf("debian rdf %s: %w", p.cfg.RDFURL, err)
	}
	return ids, res.Validators, nil
}

type listKind int

const (
	dsaList listKind = iota
	dlaList
)

// list returns the cursor's validators of one list file.
func (c *Cursor) list(k listKind) *feeds.Validators {
	if k == dsaList {
		return &c.DSAList
	}
	return &c.DLAList
}

// readList fetches one list file conditionally and commits its advisories
// with the list's validators; update adjusts the rest of the next cursor
// given the IDs the list holds.
func (p *Poller) readList(ctx context.Context, cur *Cursor, stats *Stats, sink Sink, url string, kind listKind, update func(next *Cursor, stored map[string]bool)) error {
	res, err := p.fetch.Fetch(ctx, url, *cur.list(kind))
	if err != nil {
		return fmt.Errorf("debian list: %w", err)
	}
	stored := map[string]bool{}
	if res.NotModified {
		if update != nil {
			next := *cur
			update(&next, stored)
			return p.commit(ctx, cur, &next, sink, nil)
		}
		return nil
	}
	advisories, err := Parse(res.Body)
	for _, e := range feeds.SplitErrors(err) {
		if errors.Is(e, patchwatch.ErrNotAdvisory) {
			continue
		}
		stats.Rejected++
		p.log.Warn("list entry rejected", "url", url, "err", e)
	}
	if len(advisories) == 0 {
		return fmt.Errorf("debian list %s: no advisories in %d bytes", url, len(res.Body))
	}
	for _, a := range advisories {
		stored[a.ID] = true
	}
	next := *cur
	*next.list(kind) = res.Validators
	if update != nil {
		update(&next, stored)
	}
	if err := p.commit(ctx, cur, &next, sink, advisories); err != nil {
		return err
	}
	stats.Advisories += len(advisories)
	return nil
}

func (p *Poller) commit(ctx context.Context, cur, next *Cursor, sink Sink, advisories []patchwatch.Advisory) error {
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := sink.Advisories(ctx, advisories, raw); err != nil {
		return fmt.Errorf("commit debian advisories: %w", err)
	}
	*cur = *next
	return nil
}

func (p *Poller) readTracker(ctx context.Context, cur *Cursor, stats *Stats, sink Sink) error {
	// Hundreds of MB of JSON: saved to a file (resumable) and decoded
	// as a stream, never held whole.
	dir := p.cfg.DownloadDir
	if dir == "" {
		dir = os.TempDir()
	}
	dl, err := p.fetch.Download(ctx, p.cfg.TrackerURL, cur.Tracker, filepath.Join(dir, "patchwatch-debian-tracker.json"), p.cfg.TrackerMaxBytes)
	if err != nil {
		return fmt.Errorf("debian tracker: %w", err)
	}
	if dl.NotModified {
		return nil
	}
	urgencies, err := decodeTrackerFile(dl.Path)
	if err != nil {
		return fmt.Errorf("debian tracker %s: %w", p.cfg.TrackerURL, err)
	}
	next := *cur
	next.Tracker = dl.Validators
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := sink.Urgencies(ctx, urgencies, raw); err != nil {
		return fmt.Errorf("commit debian urgencies: %w", err)
	}
	*cur = next
	stats.Urgencies = len(urgencies)
	if err := dl.Discard(); err != nil {
		p.log.Warn("remove the downloaded tracker JSON", "file", dl.Path, "err", err)
	}
	return nil
}

func decodeTrackerFile(path string) ([]patchwatch.CVEUrgency, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeTracker(bufio.NewReaderSize(f, 1<<20))
}

var rdfID = regexp.MustCompile(`(?i)\b(DSA|DLA)-(\d+)(-\d+)?\b`)

// ParseRDF reads the DSA RDF feed (RSS 1.0) and returns the advisory IDs it
// announces, newest first. Titles carry the full ID ("DSA-5380-1 xorg-server
// - security update"); links carry only the number (".../2023/dsa-5380"),
// which is taken as revision 1 when the title has no ID.
func ParseRDF(data []byte) ([]string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty feed")
	}
	f, err := gofeed.NewParser().Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	var ids []string
	for _, item := range f.Items {
		m := rdfID.FindStringSubmatch(item.Title)
		if m == nil {
			m = rdfID.FindStringSubmatch(item.Link)
		}
		if m == nil {
			continue
		}
		id := strings.ToUpper(m[1]) + "-" + m[2]
		if m[3] != "" {
			id += m[3]
		} else {
			id += "-1"
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
