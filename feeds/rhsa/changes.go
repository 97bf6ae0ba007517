package rhsa

import (
	"bytes"
	"encoding/csv"
	"io"
	"regexp"
	"strings"
	"time"
)

// Change is one row of changes.csv (or of deletions.csv): a document's path
// and the time it changed (or was withdrawn).
type Change struct {
	Path string
	At   time.Time
}

// Skipped counts the rows of an index file that were not understood, and
// keeps the first of them for the one warning a poll logs about them.
type Skipped struct {
	Rows  int
	First string
}

func (s *Skipped) add(row string) {
	if s.Rows == 0 {
		s.First = row
	}
	s.Rows++
}

// documentPath matches the index's YYYY/<type>-YYYY_NNNN.json paths for the
// errata kinds Red Hat publishes CSAF files for, so that a hostile index
// cannot send the poller elsewhere. The folder's year is the ID's year.
var documentPath = regexp.MustCompile(`^(\d{4})/(rhsa|rhba|rhea)-(\d{4})_(\d{4,7})\.json$`)

// validPath reports whether p is a well-formed document path.
func validPath(p string) bool {
	m := documentPath.FindStringSubmatch(p)
	return m != nil && m[1] == m[3]
}

// PathID returns the advisory ID a document path names:
// "2026/rhba-2026_0100.json" is RHBA-2026:0100.
func PathID(p string) (string, bool) {
	m := documentPath.FindStringSubmatch(p)
	if m == nil || m[1] != m[3] {
		return "", false
	}
	return strings.ToUpper(m[2]) + "-" + m[3] + ":" + m[4], true
}

// ParseChanges reads changes.csv, one `"2024/rhsa-2024_0010.json","2025-02-18T14:28:08+00:00"`
// row per line. Rows that are not a well-formed rhsa, rhba or rhea path
// with an RFC 3339 time are counted in Skipped, never an error: one row
// Red Hat adds in a new shape must not stop the feed.
func ParseChanges(data []byte) ([]Change, Skipped) {
	var out []Change
	var skipped Skipped
	eachLine(data, func(line string) {
		c, ok := parseRow(line)
		if !ok {
			skipped.add(line)
			return
		}
		out = append(out, c)
	})
	return out, skipped
}

// ParseDeletions reads deletions.csv, which lists the documents Red Hat
// withdrew in the format of changes.csv (path, time of the withdrawal).
// It returns the withdrawn advisory IDs in the file's order, each once.
func ParseDeletions(data []byte) ([]string, Skipped) {
	changes, skipped := ParseChanges(data)
	seen := map[string]bool{}
	var ids []string
	for _, c := range changes {
		id, _ := PathID(c.Path)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, skipped
}

// ParseIndex reads index.txt, one document path per line.
func ParseIndex(data []byte) ([]string, Skipped) {
	var out []string
	var skipped Skipped
	eachLine(data, func(line string) {
		if !validPath(line) {
			skipped.add(line)
			return
		}
		out = append(out, line)
	})
	return out, skipped
}

// eachLine calls fn with every non-blank line, trimmed.
func eachLine(data []byte, fn func(string)) {
	for line := range bytes.Lines(data) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			fn(string(line))
		}
	}
}

func parseRow(line string) (Change, bool) {
	r := csv.NewReader(strings.NewReader(line))
	r.FieldsPerRecord = 2
	rec, err := r.Read()
	if err != nil {
		return Change{}, false
	}
	if _, err := r.Read(); err != io.EOF {
		return Change{}, false
	}
	path, stamp := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
	at, err := time.Parse(time.RFC3339, stamp)
	if err != nil || !validPath(path) {
		return Change{}, false
	}
	return Change{Path: path, At: at.UTC()}, true
}
