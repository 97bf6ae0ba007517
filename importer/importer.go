// Package importer reads advisory files given by hand: it walks
// directories, unwraps .gz/.bz2/.xz and zip/tar archives, and hands each
// record to the parser that recognizes its content.
package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/dsa"
	"github.com/patchwatch/patchwatch/feeds/kev"
	"github.com/patchwatch/patchwatch/feeds/rebuild"
	"github.com/patchwatch/patchwatch/feeds/rhsa"
	"github.com/patchwatch/patchwatch/feeds/usn"
	"github.com/patchwatch/patchwatch/internal/describe"
)

// Parser recognizes and reads one format.
type Parser struct {
	Name string
	// Detect reports, from the content alone, whether Parse reads it.
	Detect func(data []byte) bool
	Parse  func(data []byte) (Contents, error)
}

// Contents is what one file holds; a parser fills one of the fields.
type Contents struct {
	Advisories []patchwatch.Advisory
	// KEV is a whole CISA KEV catalog.
	KEV *kev.Catalog
	// Urgencies is the Debian security tracker's whole set of CVE urgencies.
	Urgencies []patchwatch.CVEUrgency
}

func one(parse func([]byte) (patchwatch.Advisory, error)) func([]byte) ([]patchwatch.Advisory, error) {
	return func(data []byte) ([]patchwatch.Advisory, error) {
		a, err := parse(data)
		if err != nil {
			return nil, err
		}
		return []patchwatch.Advisory{a}, nil
	}
}

func advisories(parse func([]byte) ([]patchwatch.Advisory, error)) func([]byte) (Contents, error) {
	return func(data []byte) (Contents, error) {
		a, err := parse(data)
		return Contents{Advisories: a}, err
	}
}

// Parsers lists the formats patchwatch imports, tried in order.
func Parsers() []Parser {
	return []Parser{
		{
			Name:   "usn",
			Detect: func(b []byte) bool { return usn.Detect(b) != usn.FormatUnknown },
			Parse:  advisories(usn.Parse),
		},
		{
			Name:   "rhsa-csaf",
			Detect: rhsa.Detect,
			Parse:  advisories(one(rhsa.Parse)),
		},
		{
			Name:   "alsa-rlsa-osv",
			Detect: rebuild.Detect,
			Parse:  advisories(one(rebuild.Parse)),
		},
		{
			Name:   "debian-list",
			Detect: dsa.Detect,
			Parse:  advisories(dsa.Parse),
		},
		{
			Name:   "kev",
			Detect: kev.Detect,
			Parse: func(data []byte) (Contents, error) {
				c, err := kev.Parse(data)
				if err != nil {
					return Contents{}, err
				}
				return Contents{KEV: &c}, nil
			},
		},
		{
			Name:   "debian-tracker",
			Detect: dsa.DetectTracker,
			Parse: func(data []byte) (Contents, error) {
				u, err := dsa.ParseTracker(data)
				return Contents{Urgencies: u}, err
			},
		},
	}
}

// ErrUnknownFormat is reported for a file no parser recognizes.
var ErrUnknownFormat = errors.New("unrecognized format")

// MaxFileBytes bounds one file or archive member after decompression;
// MaxArchiveBytes bounds everything one archive expands to.
const (
	MaxFileBytes    = 1 << 30
	MaxArchiveBytes = 64 << 30
)

// Record is the outcome of reading one file (or archive member).
type Record struct {
	Name   string
	Format string
	Contents
	// Err is set when the file was rejected, wholly or in part.
	Err error
}

// Walk reads every file under paths and calls fn once per file or archive
// member, in a stable order. An error from fn stops the walk.
func Walk(ctx context.Context, paths []string, parsers []Parser, fn func(Record) error) error {
	return WalkLimited(ctx, paths, parsers, feeds.Limits{Member: MaxFileBytes, Total: MaxArchiveBytes}, fn)
}

// WalkLimited is Walk with its own bounds on what one file or archive
// member, and one whole archive, may expand to.
func WalkLimited(ctx context.Context, paths []string, parsers []Parser, limits feeds.Limits, fn func(Record) error) error {
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if !info.IsDir() {
			if err := readFile(ctx, root, parsers, limits, fn); err != nil {
				return err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// Documentation and hidden files that sit beside the records
			// are not records; a file named explicitly is always read.
			name := d.Name()
			if d.IsDir() && strings.HasPrefix(name, ".") && p != root {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() && !strings.HasPrefix(name, ".") && !strings.HasSuffix(name, ".md") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("import: walk %s: %w", root, err)
		}
		slices.Sort(files)
		for _, f := range files {
			if err := readFile(ctx, f, parsers, limits, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func readFile(ctx context.Context, path string, parsers []Parser, limits feeds.Limits, fn func(Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The file is streamed, never read whole: an archive is walked one
	// member at a time, a compressed file is bounded by MaxFileBytes.
	archive, err := feeds.IsArchiveFile(path)
	if err != nil {
		return fn(Record{Name: path, Err: err})
	}
	if archive {
		opts := feeds.WalkOptions{Limits: limits}
		err := feeds.WalkArchiveFile(path, opts, func(m feeds.Member) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if m.Err != nil {
				return fn(Record{Name: path + "!" + m.Name, Err: m.Err})
			}
			return fn(parse(path+"!"+m.Name, m.Content, parsers))
		})
		if err != nil {
			return fn(Record{Name: path, Err: err})
		}
		return nil
	}
	data, err := feeds.DecompressFile(path, limits.Member)
	if err != nil {
		return fn(Record{Name: path, Err: err})
	}
	return fn(parse(path, data, parsers))
}

// expectedFormats is what import reads, for the error of a file it does not.
const expectedFormats = "expected a USN record (OSV or legacy JSON), a Red Hat CSAF document, an AlmaLinux/Rocky OSV record, a Debian DSA/DLA list, the KEV catalog or the Debian tracker's JSON"

// Parse reads one record with the first parser that recognizes it.
func parse(name string, data []byte, parsers []Parser) Record {
	for _, p := range parsers {
		if p.Detect(data) {
			contents, err := p.Parse(data)
			if err != nil {
				err = explain(err, data)
			}
			return Record{Name: name, Format: p.Name, Contents: contents, Err: err}
		}
	}
	return Record{Name: name, Err: fmt.Errorf("%w: %s; %s", ErrUnknownFormat, describe.Content(data), expectedFormats)}
}

// parseError is a parser's error reworded; it still wraps the original.
type parseError struct {
	msg string
	err error
}

func (e *parseError) Error() string { return e.msg }
func (e *parseError) Unwrap() error { return e.err }

// explain rewrites a JSON decoding error, which names Go types and no
// position, as where in the file it went wrong and what was expected,
// keeping the parser's own words before it ("decode CSAF document: ").
func explain(err error, data []byte) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var inner error
	switch {
	case errors.As(err, &typ):
		inner = typ
	case errors.As(err, &syntax):
		inner = syntax
	default:
		return err
	}
	prefix, ok := strings.CutSuffix(err.Error(), inner.Error())
	if !ok {
		return err
	}
	return &parseError{msg: prefix + describe.JSONError(inner, data), err: err}
}
