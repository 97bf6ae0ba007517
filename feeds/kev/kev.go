// Package kev reads CISA's Known Exploited Vulnerabilities catalog.
package kev

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
)

// DefaultURL is the catalog's published location.
const DefaultURL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

// MirrorURL is cisagov's copy of the same file on GitHub (cisagov/kev-data).
const MirrorURL = "https://raw.githubusercontent.com/cisagov/kev-data/main/known_exploited_vulnerabilities.json"

// DefaultURLs are tried in order.
var DefaultURLs = []string{DefaultURL, MirrorURL}

// FeedName is the cursor name of this source.
const FeedName = "kev"

// Catalog is a whole KEV catalog.
type Catalog struct {
	Version  string
	Released time.Time
	Entries  []patchwatch.KEVEntry
}

type catalogJSON struct {
	Title           string `json:"title"`
	CatalogVersion  string `json:"catalogVersion"`
	DateReleased    string `json:"dateReleased"`
	Count           int    `json:"count"`
	Vulnerabilities []struct {
		CVEID             string `json:"cveID"`
		VulnerabilityName string `json:"vulnerabilityName"`
		DateAdded         string `json:"dateAdded"`
		DueDate           string `json:"dueDate"`
		Ransomware        string `json:"knownRansomwareCampaignUse"`
	} `json:"vulnerabilities"`
}

var (
	cveID = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	date  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Detect reports whether data is a KEV catalog in JSON.
func Detect(data []byte) bool {
	head := data[:min(len(data), 4096)]
	return bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) &&
		bytes.Contains(head, []byte(`"catalogVersion"`)) && bytes.Contains(data, []byte(`"vulnerabilities"`))
}

// Parse reads the catalog. An entry with a malformed CVE ID or date is an
// error: a partial catalog would silently lower urgencies.
func Parse(data []byte) (Catalog, error) {
	var raw catalogJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return Catalog{}, fmt.Errorf("decode KEV catalog: %w", err)
	}
	if raw.CatalogVersion == "" || raw.Vulnerabilities == nil {
		return Catalog{}, errors.New("decode KEV catalog: no catalogVersion or vulnerabilities")
	}
	if raw.Count != 0 && raw.Count != len(raw.Vulnerabilities) {
		return Catalog{}, fmt.Errorf("KEV catalog says count %d but lists %d entries", raw.Count, len(raw.Vulnerabilities))
	}
	c := Catalog{Version: raw.CatalogVersion}
	c.Released, _ = time.Parse(time.RFC3339, raw.DateReleased)
	for i, v := range raw.Vulnerabilities {
		if !cveID.MatchString(v.CVEID) {
			return Catalog{}, fmt.Errorf("KEV entry %d: bad cveID %q", i, v.CVEID)
		}
		if !date.MatchString(v.DateAdded) || (v.DueDate != "" && !date.MatchString(v.DueDate)) {
			return Catalog{}, fmt.Errorf("KEV entry %s: bad dates %q / %q", v.CVEID, v.DateAdded, v.DueDate)
		}
		c.Entries = append(c.Entries, patchwatch.KEVEntry{
			CVE: v.CVEID, Name: v.VulnerabilityName, DateAdded: v.DateAdded, DueDate: v.DueDate, Ransomware: v.Ransomware,
		})
	}
	return c, nil
}

// Cursor is what the poller remembers between polls.
type Cursor struct {
	// Validators are those of the first URL, as cursors before the list
	// of URLs stored them; ByURL holds every URL's own.
	Validators feeds.Validators            `json:"validators"`
	ByURL      map[string]feeds.Validators `json:"by_url,omitempty"`
	Version    string                      `json:"version"`
	// Source is the URL the stored catalog came from.
	Source string `json:"source,omitempty"`
}

// Commit stores a whole catalog and the cursor that covers it in one transaction.
type Commit func(ctx context.Context, c Catalog, cursor []byte) error

// Poller fetches the catalog with conditional GET from the first of its
// URLs that answers.
type Poller struct {
	urls  []string
	fetch *feeds.Fetcher
	log   *slog.Logger
}

// NewPoller returns a poller of the catalog at urls, tried in order
// (DefaultURLs when empty): CISA's server often answers 403 to cloud
// addresses, and cisagov's GitHub copy carries the same file.
func NewPoller(urls []string, fetch *feeds.Fetcher, log *slog.Logger) *Poller {
	if len(urls) == 0 {
		urls = DefaultURLs
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{urls: slices.Clone(urls), fetch: fetch, log: log.With("feed", FeedName)}
}

// Poll fetches the catalog if it changed and commits it whole. It reports
// whether a new catalog was stored. A URL that fails (status, network,
// malformed catalog) is logged and the next is tried; the error joins
// every URL's failure when none answered. A mirror's catalog older than
// the stored one is not stored.
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, commit Commit) (bool, error) {
	var cur Cursor
	if len(rawCursor) > 0 {
		if err := json.Unmarshal(rawCursor, &cur); err != nil {
			return false, fmt.Errorf("decode kev cursor: %w", err)
		}
	}
	if cur.ByURL == nil {
		cur.ByURL = map[string]feeds.Validators{}
		if cur.Validators != (feeds.Validators{}) {
			cur.ByURL[p.urls[0]] = cur.Validators
		}
	}
	var errs []error
	for _, url := range p.urls {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		res, err := p.fetch.Fetch(ctx, url, cur.ByURL[url])
		if err != nil {
			p.log.Warn("KEV source failed, trying the next", "url", url, "err", err)
			errs = append(errs, err)
			continue
		}
		if res.NotModified {
			return false, nil
		}
		c, err := Parse(res.Body)
		if err != nil {
			p.log.Warn("KEV source served a bad catalog, trying the next", "url", url, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", url, err))
			continue
		}
		next := cur
		next.ByURL = maps.Clone(cur.ByURL)
		next.ByURL[url] = res.Validators
		next.Validators = next.ByURL[p.urls[0]]
		if cur.Version != "" && c.Version < cur.Version {
			// A lagging mirror: remember its validators, keep the newer catalog.
			p.log.Warn("KEV source is behind the stored catalog", "url", url, "version", c.Version, "stored", cur.Version)
			return false, nil
		}
		next.Version, next.Source = c.Version, url
		if err := commit(ctx, c, mustJSON(next)); err != nil {
			return false, err
		}
		p.log.Info("KEV catalog stored", "version", c.Version, "entries", len(c.Entries), "url", url)
		return true, nil
	}
	return false, fmt.Errorf("kev: every source failed: %w", errors.Join(errs...))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}
