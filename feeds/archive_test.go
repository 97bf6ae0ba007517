package feeds_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/internal/archivegen"
	"github.com/patchwatch/patchwatch/internal/memwatch"
)

// Every decompressor stops at its limit with an error naming the file and
// the limit, and never holds more than one member's limit in memory.
func TestDecompressionBombs(t *testing.T) {
	const (
		expand = 16 << 20
		member = 1 << 20
		total  = 4 << 20
		// Slack for the decompressors' own state (zstd window, xz
		// dictionary, bzip2 blocks) and the test's bookkeeping.
		slack = 24 << 20
	)
	for _, format := range archivegen.Formats {
		t.Run(format, func(t *testing.T) {
			size := int64(expand)
			if format == "xz" || format == "tar.xz" || format == "tar" {
				size = 12 << 20 // the pure-Go xz writer is slow, a plain tar is written whole; still 3× the total limit
			}
			bomb, err := archivegen.Bomb(format, size)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "bomb."+format)
			if err := os.WriteFile(path, bomb, 0o644); err != nil {
				t.Fatal(err)
			}
			var walkErr error
			var memberErrs []error
			peak := memwatch.Measure(func() {
				if archive, _ := feeds.IsArchiveFile(path); archive {
					walkErr = feeds.WalkArchiveFile(path, feeds.WalkOptions{Limits: feeds.Limits{Member: member, Total: total}}, func(m feeds.Member) error {
						if m.Err != nil {
							memberErrs = append(memberErrs, m.Err)
						}
						return nil
					})
				} else {
					_, walkErr = feeds.DecompressFile(path, member)
				}
			})
			errs := append(memberErrs, walkErr)
			found := false
			for _, err := range errs {
				if err == nil {
					continue
				}
				if !errors.Is(err, feeds.ErrLimit) {
					t.Fatalf("error %v does not wrap ErrLimit", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, path) || (!strings.Contains(msg, "1048576") && !strings.Contains(msg, "4194304")) || strings.Contains(msg, "\n") {
					t.Errorf("error %q does not name the file and the limit on one line", msg)
				}
				found = true
			}
			if !found {
				t.Fatalf("%d-byte %s bomb read without reaching a limit", len(bomb), format)
			}
			t.Logf("%s: %d bytes in, peak heap %s, allocated %s", format, len(bomb), memwatch.MiB(peak.HeapInuse), memwatch.MiB(peak.TotalAlloc))
			if peak.HeapInuse > member+slack {
				t.Errorf("peak heap %s, want under member limit + %s", memwatch.MiB(peak.HeapInuse), memwatch.MiB(slack))
			}
		})
	}
}

// Many members each under the member limit still stop at the total.
func TestArchiveTotalLimit(t *testing.T) {
	var buf bytes.Buffer
	n := 0
	err := archivegen.WriteTar(&buf, "tar.gz", func() (archivegen.Member, bool) {
		n++
		return archivegen.Member{Name: "m.json", Content: make([]byte, 1<<20)}, n <= 40
	})
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	err = feeds.WalkArchive(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "many.tar.gz", feeds.WalkOptions{Limits: feeds.Limits{Member: 2 << 20, Total: 8 << 20}}, func(m feeds.Member) error {
		read++
		return m.Err
	})
	if !errors.Is(err, feeds.ErrLimit) || !strings.Contains(err.Error(), "many.tar.gz") {
		t.Fatalf("walk = %v, want the total limit naming many.tar.gz", err)
	}
	if read < 6 || read > 8 {
		t.Errorf("read %d members before the 8 MiB total, want about 7", read)
	}
}

// A member over its own limit is reported and the walk goes on.
func TestArchiveMemberLimitSkips(t *testing.T) {
	var buf bytes.Buffer
	members := []archivegen.Member{{Name: "a.json", Content: []byte("{}")}, {Name: "big.json", Content: make([]byte, 3<<20)}, {Name: "b.json", Content: []byte("{}")}}
	i := 0
	if err := archivegen.WriteZip(&buf, func() (archivegen.Member, bool) {
		if i == len(members) {
			return archivegen.Member{}, false
		}
		i++
		return members[i-1], true
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := feeds.WalkArchive(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "x.zip", feeds.WalkOptions{Limits: feeds.Limits{Member: 1 << 20, Total: 1 << 30}}, func(m feeds.Member) error {
		if m.Err != nil {
			got = append(got, "error:"+m.Name)
			return nil
		}
		got = append(got, m.Name)
		return nil
	})
	if err != nil || strings.Join(got, " ") != "a.json error:big.json b.json" {
		t.Fatalf("walk = %v, %v", got, err)
	}
	// The old whole-buffer API still stops on it.
	if err := feeds.EachArchiveFile(buf.Bytes(), 1<<20, func(string, []byte) error { return nil }); !errors.Is(err, feeds.ErrTooLarge) {
		t.Errorf("EachArchiveFile = %v, want ErrTooLarge", err)
	}
}

func TestDecompressRoundTrip(t *testing.T) {
	for _, format := range []string{"gz", "xz", "zst"} {
		bomb, err := archivegen.Bomb(format, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out, err := feeds.Decompress(bomb, 1<<20)
		if err != nil || len(out) < 1000 || bytes.Count(out, []byte{0}) != len(out) {
			t.Errorf("%s: %d bytes, %v", format, len(out), err)
		}
	}
	plain, err := feeds.Decompress([]byte("plain"), 10)
	if err != nil || string(plain) != "plain" {
		t.Errorf("plain = %q, %v", plain, err)
	}
	if _, err := feeds.Decompress([]byte("plain text"), 5); !errors.Is(err, feeds.ErrLimit) {
		t.Errorf("oversized plain = %v, want ErrLimit", err)
	}
}

func FuzzWalkArchive(f *testing.F) {
	for _, format := range archivegen.Formats {
		if b, err := archivegen.Bomb(format, 4096); err == nil && len(b) < 1<<16 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = feeds.WalkArchive(bytes.NewReader(data), int64(len(data)), "fuzz", feeds.WalkOptions{Limits: feeds.Limits{Member: 64 << 10, Total: 256 << 10}}, func(m feeds.Member) error {
			if len(m.Content) > 64<<10 {
				t.Fatalf("member %s: %d bytes over the limit", m.Name, len(m.Content))
			}
			return nil
		})
		if out, err := feeds.Decompress(data, 64<<10); err == nil && len(out) > 64<<10 {
			t.Fatalf("decompressed %d bytes over the limit", len(out))
		}
	})
}
