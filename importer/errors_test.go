package importer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/importer"
)

// TestRejectionsSayWhereAndWhat: a file import cannot read is rejected in
// one line that names the file, the position and what was expected, with
// no Go type names and no escaped bytes.
func TestRejectionsSayWhereAndWhat(t *testing.T) {
	record, err := os.ReadFile("../samples/usn/USN-8262-1.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	typeWrong := strings.Replace(string(record), `"affected": [`, `"affected": "none", "x": [`, 1)
	files := map[string]struct {
		data string
		want []string
	}{
		"truncated.json":  {string(record[:len(record)/2]), []string{"truncated.json", "unrecognized format", "byte ", "(line ", "ends early", "expected a USN record"}},
		"type-wrong.json": {typeWrong, []string{"type-wrong.json", "byte ", "field affected is a string, expected an array"}},
		"package.deb":     {"!<arch>\ndebian-binary   1342943816  0     0     100644  4         `\n2.0\n\x00\x00\x1f\x8b", []string{"package.deb", "binary content (starts 21 3c 61 72 63 68 3e 0a)"}},
		"notes.txt":       {"Dear admin,\nplease patch.\n", []string{"notes.txt", `text starting "Dear admin,"`}},
	}
	for name, f := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	err = importer.Walk(context.Background(), []string{dir}, importer.Parsers(), func(r importer.Record) error {
		f := files[filepath.Base(r.Name)]
		seen++
		if r.Err == nil {
			t.Errorf("%s accepted", r.Name)
			return nil
		}
		msg := r.Name + ": " + r.Err.Error()
		for _, want := range f.want {
			if !strings.Contains(msg, want) {
				t.Errorf("%q lacks %q", msg, want)
			}
		}
		if strings.Contains(msg, "\n") || strings.Contains(msg, "struct") || strings.Contains(msg, `\x`) || len(msg) > 400 {
			t.Errorf("not one plain line: %q", msg)
		}
		return nil
	})
	if err != nil || seen != len(files) {
		t.Fatalf("walk: %v, %d records", err, seen)
	}
	// The reworded errors still wrap what they were.
	err = importer.Walk(context.Background(), []string{filepath.Join(dir, "notes.txt")}, importer.Parsers(), func(r importer.Record) error {
		if !errors.Is(r.Err, importer.ErrUnknownFormat) {
			t.Errorf("%v is not ErrUnknownFormat", r.Err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
