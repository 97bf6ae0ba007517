// Package dsa reads Debian's security advisories: the DSA and DLA (Debian
// LTS) list files of the security tracker, which carry every advisory's
// fixed source version per release.
package dsa

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// TrackerURL is the security tracker's page of an advisory.
func TrackerURL(id string) string { return "https://security-tracker.debian.org/tracker/" + id }

var (
	// header: "[29 Mar 2023] DSA-5380-1 xorg-server - security update";
	// old entries lack the revision ("DSA-123"), the title, or use two spaces.
	header = regexp.MustCompile(`^\[(\d{1,2} [A-Z][a-z]{2} \d{4})\]\s+((?:DSA|DLA)-\d+(?:-\d+)?)\s*(.*)$`)
	// release line: "[bullseye] - openssl 1.1.1n-0+deb11u4" or "... <not-affected> (reason)".
	releaseLine = regexp.MustCompile(`^\[([a-z][a-z0-9-]*)\]\s+-\s+(\S+)\s+(\S+)(?:\s+(.*))?$`)
	cveToken    = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	detectLine  = regexp.MustCompile(`^\[\d{1,2} [A-Z][a-z]{2} \d{4}\]\s+(?:DSA|DLA)-\d+`)
)

// Detect reports whether data is a DSA or DLA list file.
func Detect(data []byte) bool {
	for line := range bytes.Lines(data) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return detectLine.Match(line)
	}
	return false
}

// LineError is one entry of a list file that was not imported.
type LineError struct {
	Line  int
	Entry string
	Err   error
}

func (e *LineError) Error() string {
	if e.Entry != "" {
		return fmt.Sprintf("line %d: %s: %v", e.Line, e.Entry, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ErrNoPackages marks entries without any package line, such as the
// announcements ("jessie end-of-life", key changes) the lists also carry.
var ErrNoPackages = fmt.Errorf("%w: no [release] lines (an announcement, or advice with no fixed package)", patchwatch.ErrNotAdvisory)

// Parse reads a whole list file. Every entry is accounted for: it becomes
// one advisory, or a *LineError naming its line in the joined error.
func Parse(data []byte) ([]patchwatch.Advisory, error) {
	var (
		out  []patchwatch.Advisory
		errs []error
		cur  *entry
		line int
	)
	finish := func() {
		if cur == nil {
			return
		}
		a, err := cur.advisory()
		if err != nil {
			errs = append(errs, &LineError{Line: cur.line, Entry: cur.id, Err: err})
		} else {
			out = append(out, a)
		}
		cur = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line++
		raw := sc.Text()
		text := strings.TrimSpace(raw)
		if text == "" {
			continue
		}
		if !strings.HasPrefix(raw, " ") && !strings.HasPrefix(raw, "\t") {
			finish()
			m := header.FindStringSubmatch(raw)
			if m == nil {
				errs = append(errs, &LineError{Line: line, Err: fmt.Errorf("not an advisory header: %q", truncate(raw))})
				continue
			}
			cur = &entry{line: line, date: m[1], id: m[2], rest: strings.TrimSpace(m[3])}
			continue
		}
		if cur == nil {
			errs = append(errs, &LineError{Line: line, Err: errors.New("indented line before any advisory header")})
			continue
		}
		switch {
		case strings.HasPrefix(text, "NOTE:"):
		case strings.HasPrefix(text, "{"):
			if !strings.HasSuffix(text, "}") {
				cur.bad(line, fmt.Errorf("unterminated {...} list"))
				continue
			}
			for _, tok := range strings.Fields(strings.Trim(text, "{}")) {
				if cveToken.MatchString(tok) {
					cur.cves = append(cur.cves, tok)
				}
			}
		case strings.HasPrefix(text, "["):
			m := releaseLine.FindStringSubmatch(text)
			if m == nil {
				cur.bad(line, fmt.Errorf("release line %q is not \"[release] - package version\"", truncate(text)))
				continue
			}
			cur.releases = append(cur.releases, releaseFix{line: line, release: m[1], pkg: m[2], version: m[3]})
		default:
			cur.bad(line, fmt.Errorf("unexpected line %q", truncate(text)))
		}
	}
	finish()
	if err := sc.Err(); err != nil {
		errs = append(errs, &LineError{Line: line + 1, Err: err})
	}
	return out, errors.Join(errs...)
}

type releaseFix struct {
	line                  int
	release, pkg, version string
}

type entry struct {
	line     int
	date     string
	id       string
	rest     string
	cves     []string
	releases []releaseFix
	err      error
}

func (e *entry) bad(line int, err error) {
	if e.err == nil {
		e.err = fmt.Errorf("line %d: %w", line, err)
	}
}

// markers that stand where a version would: what they mean for a host.
var markers = map[string]bool{ // true: affected with no fix; false: not affected
	"<unfixed>": true, "<end-of-life>": true, "<no-dsa>": true, "<ignored>": true, "<postponed>": true,
	"<not-affected>": false, "<removed>": false, "<undetermined>": true,
}

func (e *entry) advisory() (patchwatch.Advisory, error) {
	if e.err != nil {
		return patchwatch.Advisory{}, e.err
	}
	published, err := time.Parse("2 Jan 2006", e.date)
	if err != nil {
		return patchwatch.Advisory{}, fmt.Errorf("date %q: %w", e.date, err)
	}
	source, title := e.rest, e.rest
	if s, t, ok := strings.Cut(e.rest, " - "); ok {
		source, title = strings.TrimSpace(s), strings.TrimSpace(t)
	}
	if f := strings.Fields(source); len(f) > 0 {
		source = f[0]
	}
	a := patchwatch.Advisory{
		ID:        e.id,
		Source:    patchwatch.SourceDSA,
		Published: published,
		Modified:  published,
		CVEs:      e.cves,
		URL:       TrackerURL(e.id),
	}
	if strings.HasPrefix(e.id, "DLA-") {
		a.Source = patchwatch.SourceDLA
	}
	a.Title = source
	if title != "" && title != source {
		a.Title = source + ": " + title
	}
	if len(e.releases) == 0 {
		return patchwatch.Advisory{}, ErrNoPackages
	}
	for _, r := range e.releases {
		version, ok := patchwatch.DebianVersion(r.release)
		if !ok {
			return patchwatch.Advisory{}, fmt.Errorf("line %d: unknown Debian release %q", r.line, r.release)
		}
		fix := patchwatch.Fix{Release: patchwatch.ReleaseKey("debian", version), Package: r.pkg, Kind: patchwatch.KindSource}
		if strings.HasPrefix(r.version, "<") {
			affected, known := markers[r.version]
			if !known {
				return patchwatch.Advisory{}, fmt.Errorf("line %d: unknown marker %s", r.line, r.version)
			}
			if !affected {
				continue
			}
		} else {
			fix.FixedVersion = r.version
		}
		a.Fixes = append(a.Fixes, fix)
		if patchwatch.IsKernelSource(r.pkg) {
			a.RebootHint = true
		}
	}
	a.Normalize()
	return a, a.Validate()
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
