package feeds

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Limits bound what a decompressor may produce. Every archive and
// compressed stream is read through them, so memory use is at most one
// member's limit plus a small constant, whatever the input claims.
type Limits struct {
	// Member bounds one file or archive member after decompression; it is
	// also the most one member costs in memory.
	Member int64
	// Total bounds everything a whole archive expands to, read or skipped.
	Total int64
}

// DefaultLimits suit the advisory sources: the largest Red Hat CSAF
// document is 46 MB and Red Hat's whole archive expands to about 6 GB.
var DefaultLimits = Limits{Member: 256 << 20, Total: 32 << 30}

// ErrLimit is matched (errors.Is) by every error of a decompressor that
// reached its limit; so is ErrTooLarge.
var ErrLimit = errors.New("decompression limit reached")

// limitErr names the file and the limit it reached, on one line.
type limitErr struct {
	name, what string
	limit      int64
}

func (e *limitErr) Error() string {
	return fmt.Sprintf("%s: %s exceeds the limit of %d bytes", e.name, e.what, e.limit)
}

func (e *limitErr) Is(target error) bool { return target == ErrLimit || target == ErrTooLarge }

func limitError(name, what string, limit int64) error {
	return &limitErr{name: name, what: what, limit: limit}
}

// zstd's own memory: the window a frame may ask for is bounded here, not
// by the frame (whose header could claim gigabytes).
const (
	zstdMaxWindow = 128 << 20
	zstdMaxMemory = 256 << 20
)

// Compression formats recognized by their magic bytes.
const (
	formatNone = iota
	formatGzip
	formatBzip2
	formatXZ
	formatZstd
	formatZip
)

func sniff(head []byte) int {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return formatGzip
	case bytes.HasPrefix(head, []byte("BZh")):
		return formatBzip2
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return formatXZ
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return formatZstd
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return formatZip
	}
	return formatNone
}

// decompressor returns a streaming reader of r's decompressed content for
// gzip, bzip2, xz or zstd (told by format), or r itself for formatNone.
func decompressor(format int, r io.Reader) (io.ReadCloser, error) {
	switch format {
	case formatGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case formatBzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case formatXZ:
		// ulikunitz/xz keeps a fixed 8 MiB dictionary whatever the header asks.
		xr, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return io.NopCloser(xr), nil
	case formatZstd:
		// Red Hat publishes its CSAF archive as .tar.zst.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(zstdMaxMemory))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(r), nil
}

// limitReader fails, rather than truncates, past its limit.
type limitReader struct {
	r           io.Reader
	left, limit int64
	name, what  string
}

func newLimitReader(r io.Reader, limit int64, name, what string) *limitReader {
	return &limitReader{r: r, left: limit, limit: limit, name: name, what: what}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, limitError(l.name, l.what, l.limit)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n + int(l.left), limitError(l.name, l.what, l.limit)
	}
	return n, err
}

// readExactly reads all of r into a buffer sized at most limit, failing
// past it; sizeHint (a header's claim, or -1) sizes the buffer up front so
// the content costs its size once, not the doubling of a growing buffer.
func readExactly(r io.Reader, sizeHint, limit int64, name string) ([]byte, error) {
	lr := newLimitReader(r, limit, name, "decompressed size")
	if sizeHint >= 0 && sizeHint <= limit {
		buf := make([]byte, sizeHint)
		if _, err := io.ReadFull(lr, buf); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		// The header's size must be the whole content.
		var one [1]byte
		if n, _ := lr.Read(one[:]); n > 0 {
			return nil, fmt.Errorf("%s: content longer than its header's %d bytes", name, sizeHint)
		}
		return buf, nil
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(lr); err != nil {
		if errors.Is(err, ErrLimit) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// Decompress unwraps gzip, bzip2, xz or zstd content, detected by its magic
// bytes; other content is returned as it is. limit bounds the output, and
// the output is counted before it is kept, so memory is its size, once.
func Decompress(data []byte, limit int64) ([]byte, error) {
	if format := sniff(data[:min(len(data), 8)]); format == formatNone || format == formatZip {
		if int64(len(data)) > limit {
			return nil, limitError("input", "size", limit)
		}
		return data, nil
	}
	return decompressAt(bytes.NewReader(data), int64(len(data)), "input", limit)
}

// DecompressFile reads the file at name, unwrapping gzip, bzip2, xz or zstd,
// with the output bounded by limit; the file is streamed twice (count,
// then read) so nothing but the result is held.
func DecompressFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return decompressAt(f, st.Size(), name, limit)
}

func decompressAt(r io.ReaderAt, size int64, name string, limit int64) ([]byte, error) {
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	format := sniff(head[:n])
	if format == formatNone || format == formatZip {
		if size > limit {
			return nil, limitError(name, "size", limit)
		}
		return readExactly(io.NewSectionReader(r, 0, size), size, limit, name)
	}
	count := func() (int64, error) {
		d, err := decompressor(format, io.NewSectionReader(r, 0, size))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		defer d.Close()
		n, err := io.Copy(io.Discard, newLimitReader(d, limit, name, "decompressed size"))
		if err != nil && !errors.Is(err, ErrLimit) {
			err = fmt.Errorf("%s: decompress: %w", name, err)
		}
		return n, err
	}
	total, err := count()
	if err != nil {
		return nil, err
	}
	d, err := decompressor(format, io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer d.Close()
	return readExactly(d, total, limit, name)
}

// Member is one regular file of an archive.
type Member struct {
	Name    string
	Content []byte
	// Err is set, and Content nil, when this member alone could not be read
	// (over Limits.Member, corrupt); the walk goes on after it.
	Err error
}

// WalkOptions tune WalkArchive.
type WalkOptions struct {
	Limits Limits
	// Skip, when set, names members not to read: zip members are then not
	// decompressed at all.
	Skip func(name string) bool
}

// WalkArchiveFile calls fn for every regular file in the zip or
// (compressed) tar archive at name, one member at a time: memory holds at
// most one member. An error from fn, a broken archive or the total limit
// ends the walk; a member over its own limit is passed to fn with Err set.
func WalkArchiveFile(name string, opts WalkOptions, fn func(Member) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return WalkArchive(f, st.Size(), name, opts, fn)
}

// WalkArchive is WalkArchiveFile over any random-access content of size
// bytes; name is used in errors.
func WalkArchive(r io.ReaderAt, size int64, name string, opts WalkOptions, fn func(Member) error) error {
	if opts.Limits.Member <= 0 || opts.Limits.Total <= 0 {
		opts.Limits = DefaultLimits
	}
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	if sniff(head[:n]) == formatZip {
		return walkZip(r, size, name, opts, fn)
	}
	d, err := decompressor(sniff(head[:n]), io.NewSectionReader(r, 0, size))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer d.Close()
	tr := tar.NewReader(newLimitReader(d, opts.Limits.Total, name, "decompressed archive"))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, ErrLimit) {
				return err
			}
			return fmt.Errorf("%s: tar: %w", name, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		member := path.Clean(hdr.Name)
		if opts.Skip != nil && opts.Skip(member) {
			continue
		}
		m := Member{Name: member}
		if hdr.Size > opts.Limits.Member {
			m.Err = limitError(name+"!"+member, "member size", opts.Limits.Member)
		} else {
			m.Content, err = readExactly(tr, hdr.Size, opts.Limits.Member, name+"!"+member)
			if errors.Is(err, ErrLimit) {
				return err // the total: a member cannot outgrow its header in tar
			}
			if err != nil {
				return fmt.Errorf("%s: tar: %w", name, err)
			}
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

func walkZip(r io.ReaderAt, size int64, name string, opts WalkOptions, fn func(Member) error) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("%s: zip: %w", name, err)
	}
	left := opts.Limits.Total
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !f.Mode().IsRegular() {
			continue
		}
		if opts.Skip != nil && opts.Skip(f.Name) {
			continue
		}
		m := Member{Name: f.Name}
		full := name + "!" + f.Name
		switch {
		case f.UncompressedSize64 > uint64(opts.Limits.Member):
			m.Err = limitError(full, "member size", opts.Limits.Member)
		case int64(f.UncompressedSize64) > left:
			return limitError(name, "decompressed archive", opts.Limits.Total)
		default:
			rc, err := f.Open()
			if err != nil {
				m.Err = fmt.Errorf("%s: %w", full, err)
				break
			}
			// archive/zip fails a member whose content outgrows its header.
			m.Content, m.Err = readExactly(rc, int64(f.UncompressedSize64), opts.Limits.Member, full)
			rc.Close()
			left -= int64(len(m.Content))
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// EachArchiveFile calls fn for every regular file in a zip or (compressed)
// tar archive held in data, with its decompressed content, streaming: one
// member at a time. Each file is bounded by limit, the whole archive by
// DefaultLimits.Total; a member over its limit ends the walk with an error.
func EachArchiveFile(data []byte, limit int64, fn func(name string, content []byte) error) error {
	opts := WalkOptions{Limits: Limits{Member: limit, Total: DefaultLimits.Total}}
	return WalkArchive(bytes.NewReader(data), int64(len(data)), "archive", opts, func(m Member) error {
		if m.Err != nil {
			return m.Err
		}
		return fn(m.Name, m.Content)
	})
}

// IsArchive reports whether data looks like a zip or tar archive
// (possibly compressed), decompressing only the first tar header.
func IsArchive(data []byte) bool {
	return isArchive(bytes.NewReader(data))
}

// IsArchiveFile is IsArchive on the head of a file.
func IsArchiveFile(name string) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return isArchive(f), nil
}

func isArchive(r io.Reader) bool {
	head := make([]byte, 8)
	n, _ := io.ReadFull(r, head)
	format := sniff(head[:n])
	if format == formatZip {
		return true
	}
	d, err := decompressor(format, io.MultiReader(bytes.NewReader(head[:n]), r))
	if err != nil {
		return false
	}
	defer d.Close()
	buf := make([]byte, 512)
	got, _ := io.ReadFull(d, buf)
	return got >= 262 && string(buf[257:262]) == "ustar"
}
