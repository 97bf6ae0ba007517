// Package archivegen builds archives for tests: decompression bombs of
// every format patchwatch reads, and archives of any size written on the
// fly so that a multi-GB archive is never held in memory or on disk.
package archivegen

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"embed"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// The Go standard library has no bzip2 writer: these were made with
// bzip2 1.0.8 (`head -c 64M /dev/zero | bzip2 -9`, and the same zeros as
// the one member "zeros.bin" of a ustar archive).
//
//go:embed bombs
var bombs embed.FS

// BzipUnit is what one embedded bzip2 stream expands to.
const BzipUnit = 64 << 20

// Formats lists the formats Bomb builds.
var Formats = []string{"gz", "bz2", "xz", "zst", "tar", "tar.gz", "tar.bz2", "tar.xz", "tar.zst", "zip"}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Bomb returns a small input in format that expands to at least expand
// bytes of zeros: a single stream ("gz", "bz2", "xz", "zst"), or an
// archive ("tar", "tar.*", "zip") whose one member "bomb.json" is that big.
// bz2 forms expand to a multiple of BzipUnit.
func Bomb(format string, expand int64) ([]byte, error) {
	var buf bytes.Buffer
	switch format {
	case "bz2", "tar.bz2":
		name := "bombs/zeros-64MiB.bz2"
		if format == "tar.bz2" {
			name = "bombs/zeros-64MiB.tar.bz2"
			// A tar member cannot span streams: one 64 MiB member, which
			// still outgrows any limit a test sets below it.
			expand = BzipUnit
		}
		unit, err := bombs.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for n := int64(0); n < expand; n += BzipUnit {
			buf.Write(unit) // bzip2 readers read concatenated streams
		}
		return buf.Bytes(), nil
	case "gz":
		// Concatenated gzip members: compress a unit once, repeat it.
		var unit bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&unit, gzip.BestCompression)
		io.CopyN(zw, zeros{}, 1<<20)
		zw.Close()
		for n := int64(0); n < expand; n += 1 << 20 {
			buf.Write(unit.Bytes())
		}
		return buf.Bytes(), nil
	case "zip":
		zw := zip.NewWriter(&buf)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "bomb.json", Method: zip.Deflate})
		if err != nil {
			return nil, err
		}
		if _, err := io.CopyN(w, zeros{}, expand); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	w, closeAll, err := compressor(format, &buf)
	if err != nil {
		return nil, err
	}
	if len(format) >= 3 && format[:3] == "tar" {
		tw := tar.NewWriter(w)
		if err := tw.WriteHeader(&tar.Header{Name: "bomb.json", Mode: 0o644, Size: expand, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}); err != nil {
			return nil, err
		}
		if _, err := io.CopyN(tw, zeros{}, expand); err != nil {
			return nil, err
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
	} else if _, err := io.CopyN(w, zeros{}, expand); err != nil {
		return nil, err
	}
	if err := closeAll(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// compressor wraps out in the compression a format names ("tar" and
// "tar.X", or "X" alone).
func compressor(format string, out io.Writer) (io.Writer, func() error, error) {
	switch format {
	case "tar":
		return out, func() error { return nil }, nil
	case "gz", "tar.gz":
		zw, _ := gzip.NewWriterLevel(out, flate.BestSpeed)
		return zw, zw.Close, nil
	case "xz", "tar.xz":
		xw, err := xz.NewWriter(out)
		return xw, func() error { return xw.Close() }, err
	case "zst", "tar.zst":
		zw, err := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, nil, err
		}
		return zw, zw.Close, nil
	}
	return nil, nil, fmt.Errorf("archivegen: unknown format %q", format)
}

// Member is one file of a generated archive.
type Member struct {
	Name    string
	Content []byte
	// Stored members are written without compression (padding whose
	// compression would only cost the test CPU time).
	Stored bool
}

// WriteZip streams a zip of the members next yields, until it returns
// false, to w.
func WriteZip(w io.Writer, next func() (Member, bool)) error {
	zw := zip.NewWriter(w)
	// The fastest deflate: generating a large archive is the test's cost,
	// not the code's under test.
	// Members are written one after another, so one deflater serves all.
	fw, _ := flate.NewWriter(io.Discard, flate.BestSpeed)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		fw.Reset(out)
		return fw, nil
	})
	for {
		m, ok := next()
		if !ok {
			return zw.Close()
		}
		method := zip.Deflate
		if m.Stored {
			method = zip.Store
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: m.Name, Method: method})
		if err != nil {
			return err
		}
		if _, err := fw.Write(m.Content); err != nil {
			return err
		}
	}
}

// WriteTar streams a tar of the members, compressed as format says
// ("tar", "tar.gz", "tar.xz", "tar.zst"), to w.
func WriteTar(w io.Writer, format string, next func() (Member, bool)) error {
	cw, closeAll, err := compressor(format, w)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(cw)
	for {
		m, ok := next()
		if !ok {
			break
		}
		if err := tw.WriteHeader(&tar.Header{Name: m.Name, Mode: 0o644, Size: int64(len(m.Content)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(m.Content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return closeAll()
}
