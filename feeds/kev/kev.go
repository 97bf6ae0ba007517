// Package kev reads CISA's Known Exploited Vulnerabilities catalog.
package kev

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
)

// DefaultURL is the catalog's published location.
const DefaultURL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

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
	Validators feeds.Validators `json:"validators"`
	Version    string           `json:"version"`
}

// Commit stores a whole catalog and the cursor that covers it in one transaction.
type Commit func(ctx context.Context, c Catalog, cursor []byte) error

// Poller fetches the catalog with conditional GET.
type Poller struct {
	url   string
	fetch *feeds.Fetcher
	log   *slog.Logger
}

// NewPoller returns a poller of the catalog at url (DefaultURL when empty).
func NewPoller(url string, fetch *feeds.Fetcher, log *slog.Logger) *Poller {
	if url == "" {
		url = DefaultURL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{url: url, fetch: fetch, log: log.With("feed", FeedName)}
}

// Poll fetches the catalog if it changed and commits it whole. It reports
// whether a new catalog was stored.
func (p *Poller) Poll(ctx context.Context, rawCursor []byte, commit Commit) (bool, error) {
	var cur Cursor
	if len(rawCursor) > 0 {
		if err := json.Unmarshal(rawCursor, &cur); err != nil {
			return false, fmt.Errorf("decode kev cursor: %w", err)
		}
	}
	res, err := p.fetch.Fetch(ctx, p.url, cur.Validators)
	if err != nil {
		return false, fmt.Errorf("kev: %w", err)
	}
	if res.NotModified {
		return false, nil
	}
	c, err := Parse(res.Body)
	if err != nil {
		return false, fmt.Errorf("kev %s: %w", p.url, err)
	}
	next, _ := json.Marshal(Cursor{Validators: res.Validators, Version: c.Version})
	if err := commit(ctx, c, next); err != nil {
		return false, err
	}
	p.log.Info("KEV catalog stored", "version", c.Version, "entries", len(c.Entries))
	return true, nil
}
