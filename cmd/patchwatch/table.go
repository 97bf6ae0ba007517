package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/patchwatch/patchwatch"
)

// findingsTable writes the outstanding table, aligned as text/tabwriter
// aligns it, and each finding's details after it, taking one finding at a
// time: rows and details are spooled (in memory, then in a temporary file)
// while the columns' widths are measured, so a fleet's million findings
// take no memory of their own (tabwriter and a slice of findings took
// 2.5 GB at 100,000 hosts).
type findingsTable struct {
	rows, details spool
	// widths are the widest cell of each padded column (the last, the
	// title, is not padded), in runes as tabwriter counts them.
	widths [len(tableHeader) - 1]int
	n      int
}

var tableHeader = [...]string{"HOST", "ADVISORY", "URGENCY", "SEVERITY", "DEADLINE", "STATUS", "TITLE"}

// tablePadding is the space between columns.
const tablePadding = 2

func newFindingsTable(inMemory int) *findingsTable {
	t := &findingsTable{rows: spool{limit: inMemory}, details: spool{limit: inMemory}}
	t.row(tableHeader)
	return t
}

// add takes one finding.
func (t *findingsTable) add(f *patchwatch.Finding) error {
	t.n++
	t.row(tableRow(f))
	writeFindingDetails(&t.details, f)
	if err := t.rows.err(); err != nil {
		return err
	}
	return t.details.err()
}

// tableRow is a finding's row of the table.
func tableRow(f *patchwatch.Finding) [len(tableHeader)]string {
	status := string(f.Status)
	if f.Subscription != "" {
		status += " (" + f.Subscription + ")"
	}
	if f.Silenced != nil {
		status += " [silenced]"
	}
	deadline := f.Deadline.Format("2006-01-02")
	if f.Overdue {
		deadline += " OVERDUE"
	}
	return [...]string{f.Host, f.Advisory, f.Urgency.String(), f.Severity.String(), deadline, status, oneLine(f.Title, 60)}
}

// row spools one row, each cell after its length (a cell may hold any
// byte), and measures it.
func (t *findingsTable) row(cells [len(tableHeader)]string) {
	var n [binary.MaxVarintLen64]byte
	for i, c := range cells {
		if i < len(t.widths) {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
		}
		t.rows.Write(n[:binary.PutUvarint(n[:], uint64(len(c)))])
		t.rows.WriteString(c)
	}
}

// close releases the spools' files, written out or not.
func (t *findingsTable) close() {
	t.rows.close()
	t.details.close()
}

// writeTo writes the table and the details to w.
func (t *findingsTable) writeTo(w io.Writer) error {
	if t.n == 0 {
		_, err := fmt.Fprintln(w, "No outstanding advisories.")
		return err
	}
	rows, err := t.rows.reader()
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(w, 64<<10)
	var cell []byte
	for {
		for i := range tableHeader {
			n, err := binary.ReadUvarint(rows)
			if err == io.EOF && i == 0 {
				return t.writeDetails(out)
			}
			if err == nil && n > 1<<24 {
				err = errors.New("a cell too long")
			}
			if err == nil {
				cell = slices.Grow(cell[:0], int(n))[:n]
				_, err = io.ReadFull(rows, cell)
			}
			if err != nil {
				return fmt.Errorf("read the spooled table: %w", err)
			}
			out.Write(cell)
			if i == len(t.widths) {
				out.WriteByte('\n')
				break
			}
			for range t.widths[i] + tablePadding - utf8.RuneCount(cell) {
				out.WriteByte(' ')
			}
		}
	}
}

// writeDetails writes the spooled details after the table.
func (t *findingsTable) writeDetails(out *bufio.Writer) error {
	details, err := t.details.reader()
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, details); err != nil {
		return err
	}
	return out.Flush()
}

// writeFindingDetails writes what to do about one finding, after the table.
func writeFindingDetails(w io.Writer, f *patchwatch.Finding) {
	fmt.Fprintf(w, "\n%s on %s: %s\n", f.Advisory, f.Host, oneLine(f.Title, 100))
	fmt.Fprintf(w, "  urgency %s: %s\n", f.Urgency, strings.Join(f.UrgencyReasons, "; "))
	if f.Silenced != nil {
		fmt.Fprintf(w, "  silenced by %s until %s: %s\n", f.Silenced.ID, f.Silenced.Expires.Format("2006-01-02"), f.Silenced.Reason)
	}
	for _, p := range f.Packages {
		via := ""
		if p.Source != "" {
			via = " (source " + p.Source + ")"
		}
		fmt.Fprintf(w, "  %s %s -> %s%s\n", p.Name, p.Installed, p.Fixed, via)
	}
	if f.Command != "" {
		fmt.Fprintf(w, "  fix: %s\n", f.Command)
	}
	if f.Status == patchwatch.StatusSubscription {
		fmt.Fprintf(w, "  note: the fix is published only through %s\n", f.Subscription)
	}
	if f.RebootHint && f.Status != patchwatch.StatusPendingReboot {
		fmt.Fprintln(w, "  reboot: required after the update")
	}
	for _, n := range f.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if f.URL != "" {
		fmt.Fprintf(w, "  %s\n", f.URL)
	}
}

// spool holds what is written to it in memory up to limit bytes, then in
// a temporary file, unlinked at once, so nothing outlives the process.
type spool struct {
	limit  int
	mem    bytes.Buffer
	file   *os.File
	buf    *bufio.Writer
	failed error
}

func (s *spool) Write(p []byte) (int, error) {
	if err := s.room(len(p)); err != nil {
		return 0, err
	}
	if s.file == nil {
		return s.mem.Write(p)
	}
	n, err := s.buf.Write(p)
	return n, s.wrote(err)
}

func (s *spool) WriteString(str string) (int, error) {
	if err := s.room(len(str)); err != nil {
		return 0, err
	}
	if s.file == nil {
		return s.mem.WriteString(str)
	}
	n, err := s.buf.WriteString(str)
	return n, s.wrote(err)
}

// room readies s for n more bytes: past its limit, what it holds moves to
// a file.
func (s *spool) room(n int) error {
	if s.failed == nil && s.file == nil && s.mem.Len()+n > s.limit {
		s.failed = s.spill()
	}
	return s.failed
}

// wrote records a failed write to the file.
func (s *spool) wrote(err error) error {
	if err != nil && s.failed == nil {
		s.failed = fmt.Errorf("spool the listing: %w", err)
	}
	return s.failed
}

// spill moves what is held in memory to a temporary file.
func (s *spool) spill() error {
	f, err := os.CreateTemp("", "patchwatch-listing-*")
	if err != nil {
		return fmt.Errorf("spool the listing: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return fmt.Errorf("spool the listing: %w", err)
	}
	s.file, s.buf = f, bufio.NewWriterSize(f, 256<<10)
	if _, err := s.buf.Write(s.mem.Bytes()); err != nil {
		return fmt.Errorf("spool the listing: %w", err)
	}
	s.mem = bytes.Buffer{}
	return nil
}

func (s *spool) err() error { return s.failed }

// spoolReader reads a spool back.
type spoolReader interface {
	io.Reader
	io.ByteReader
}

// reader returns what was written, from the start.
func (s *spool) reader() (spoolReader, error) {
	if s.failed != nil {
		return nil, s.failed
	}
	if s.file == nil {
		return &s.mem, nil
	}
	if err := s.buf.Flush(); err != nil {
		return nil, fmt.Errorf("spool the listing: %w", err)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spool the listing: %w", err)
	}
	return bufio.NewReaderSize(s.file, 256<<10), nil
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}
