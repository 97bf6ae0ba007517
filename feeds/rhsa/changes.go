package rhsa

import (
	"bytes"
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

// parsePath splits a well-formed document path, YYYY/<kind>-YYYY_NNNN.json
// with kind rhsa, rhba or rhea, the folder's year the ID's, and 4 to 7
// digits: only such paths are fetched, so that a hostile index cannot send
// the poller elsewhere.
func parsePath(p string) (kind, year, number string, ok bool) {
	folder, file, found := strings.Cut(p, "/")
	if !found || len(folder) != 4 || !digits(folder) {
		return "", "", "", false
	}
	kind, rest, found := strings.Cut(file, "-")
	if !found || (kind != "rhsa" && kind != "rhba" && kind != "rhea") {
		return "", "", "", false
	}
	rest, found = strings.CutSuffix(rest, ".json")
	year, number, _ = strings.Cut(rest, "_")
	if !found || year != folder || len(number) < 4 || len(number) > 7 || !digits(number) {
		return "", "", "", false
	}
	return kind, year, number, true
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validPath reports whether p is a well-formed document path.
func validPath(p string) bool {
	_, _, _, ok := parsePath(p)
	return ok
}

// PathID returns the advisory ID a document path names:
// "2026/rhba-2026_0100.json" is RHBA-2026:0100.
func PathID(p string) (string, bool) {
	kind, year, number, ok := parsePath(p)
	if !ok {
		return "", false
	}
	return strings.ToUpper(kind) + "-" + year + ":" + number, true
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

// Deletion is one advisory Red Hat withdrew, and when.
type Deletion struct {
	ID string
	At time.Time
}

// ParseDeletions reads deletions.csv, which lists the documents Red Hat
// withdrew in the format of changes.csv (path, time of the withdrawal); a
// row of a path alone, as index.txt writes them, is a withdrawal of
// unknown time. It returns each withdrawn advisory once, at its latest
// withdrawal, in the file's order.
func ParseDeletions(data []byte) ([]Deletion, Skipped) {
	index := map[string]int{}
	var out []Deletion
	var skipped Skipped
	eachLine(data, func(line string) {
		c, ok := parseRow(line)
		if !ok {
			path, rest, fieldOK := csvField(line)
			if !fieldOK || rest != "" || !validPath(path) {
				skipped.add(line)
				return
			}
			c = Change{Path: path}
		}
		id, _ := PathID(c.Path)
		if i, ok := index[id]; ok {
			if c.At.After(out[i].At) {
				out[i].At = c.At
			}
			return
		}
		index[id] = len(out)
		out = append(out, Deletion{ID: id, At: c.At})
	})
	return out, skipped
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

// parseRow reads one row of two CSV fields, each quoted or bare (the
// rows Red Hat writes never need quote escapes, so a field holding one is
// not well-formed): a document path and an RFC 3339 time.
func parseRow(line string) (Change, bool) {
	path, rest, ok := csvField(line)
	if !ok || !strings.HasPrefix(rest, ",") {
		return Change{}, false
	}
	stamp, rest, ok := csvField(rest[1:])
	if !ok || rest != "" || !validPath(path) {
		return Change{}, false
	}
	at, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		return Change{}, false
	}
	return Change{Path: path, At: at.UTC()}, true
}

// csvField splits the first field off s.
func csvField(s string) (field, rest string, ok bool) {
	if quoted, ok := strings.CutPrefix(s, `"`); ok {
		end := strings.IndexByte(quoted, '"')
		if end < 0 {
			return "", "", false
		}
		return quoted[:end], quoted[end+1:], true
	}
	end := strings.IndexAny(s, `,"`)
	switch {
	case end < 0:
		return s, "", true
	case s[end] == '"':
		return "", "", false
	}
	return s[:end], s[end:], true
}
