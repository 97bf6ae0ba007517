package feeds

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"path"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// decompressor returns a reader of data's decompressed content for gzip,
// bzip2 or xz (detected by magic bytes), or nil for uncompressed data.
func decompressor(data []byte) (io.Reader, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(data, []byte("BZh")):
		return bzip2.NewReader(bytes.NewReader(data)), nil
	case bytes.HasPrefix(data, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		xr, err := xz.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return xr, nil
	case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// Red Hat publishes its CSAF archive as .tar.zst.
		zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return nil, nil
}

// Decompress unwraps gzip, bzip2, xz or zstd content, detected by its magic
// bytes; other content is returned as it is. limit bounds the output.
func Decompress(data []byte, limit int64) ([]byte, error) {
	r, err := decompressor(data)
	if err != nil || r == nil {
		return data, err
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("decompress: %w (%d bytes)", ErrTooLarge, limit)
	}
	return out, nil
}

// EachArchiveFile calls fn for every regular file in a zip or (compressed)
// tar archive, with its decompressed content. Each file is bounded by limit.
func EachArchiveFile(data []byte, limit int64, fn func(name string, content []byte) error) error {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("zip: %w", err)
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			if f.UncompressedSize64 > uint64(limit) {
				return fmt.Errorf("zip member %s: %w", f.Name, ErrTooLarge)
			}
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("zip member %s: %w", f.Name, err)
			}
			content, err := io.ReadAll(io.LimitReader(rc, limit+1))
			rc.Close()
			if err != nil {
				return fmt.Errorf("zip member %s: %w", f.Name, err)
			}
			if err := fn(f.Name, content); err != nil {
				return err
			}
		}
		return nil
	}
	raw, err := Decompress(data, 1<<34)
	if err != nil {
		return err
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Size > limit {
			return fmt.Errorf("tar member %s: %w", hdr.Name, ErrTooLarge)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("tar member %s: %w", hdr.Name, err)
		}
		if err := fn(path.Clean(hdr.Name), content); err != nil {
			return err
		}
	}
}

// IsArchive reports whether data looks like a zip or tar archive
// (possibly compressed), decompressing only the first tar header.
func IsArchive(data []byte) bool {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return true
	}
	head := data
	if r, err := decompressor(data); err != nil {
		return false
	} else if r != nil {
		buf := make([]byte, 512)
		n, _ := io.ReadFull(r, buf)
		head = buf[:n]
	}
	return len(head) >= 262 && string(head[257:262]) == "ustar"
}
