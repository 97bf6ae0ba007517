package importer_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/patchwatch/patchwatch/importer"
)

func TestWalkFormats(t *testing.T) {
	record, err := os.ReadFile("../samples/usn/USN-8262-1.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(record)
	zw.Close()
	var xzBuf bytes.Buffer
	xw, _ := xz.NewWriter(&xzBuf)
	xw.Write(record)
	xw.Close()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	tw.WriteHeader(&tar.Header{Name: "osv/usn/USN-8262-1.json", Mode: 0o644, Size: int64(len(record)), Typeflag: tar.TypeReg})
	tw.Write(record)
	tw.Close()
	var tgz bytes.Buffer
	zw = gzip.NewWriter(&tgz)
	zw.Write(tarBuf.Bytes())
	zw.Close()

	write("plain/USN-8262-1.json", record)
	write("nested/deeper/USN-8262-1.json.gz", gz.Bytes())
	write("USN-8262-1.json.xz", xzBuf.Bytes())
	write("bundle.tar.gz", tgz.Bytes())
	write("notes.txt", []byte("hello"))

	var ok, rejected int
	err = importer.Walk(context.Background(), []string{dir}, importer.Parsers(), func(r importer.Record) error {
		if r.Err != nil {
			rejected++
			if !errors.Is(r.Err, importer.ErrUnknownFormat) {
				t.Errorf("%s: %v", r.Name, r.Err)
			}
			return nil
		}
		if len(r.Advisories) != 1 || r.Advisories[0].ID != "USN-8262-1" || r.Format != "usn" {
			t.Errorf("%s: %+v", r.Name, r)
		}
		ok++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok != 4 || rejected != 1 {
		t.Errorf("ok %d, rejected %d; want 4 and 1 (notes.txt)", ok, rejected)
	}
	if err := importer.Walk(context.Background(), []string{filepath.Join(dir, "missing")}, importer.Parsers(), func(importer.Record) error { return nil }); err == nil {
		t.Error("missing path accepted")
	}
}
