package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/dsa"
	"github.com/patchwatch/patchwatch/feeds/usn"
	"github.com/patchwatch/patchwatch/store"
)

// BenchmarkImport10000USN parses and stores 10,000 USN OSV records, made by
// renumbering the real USN-8262-1 record, in transactions of 1,000 as
// `patchwatch import` does. One iteration is the whole import.
func BenchmarkImport10000USN(b *testing.B) {
	record, err := os.ReadFile("testdata/USN-8262-1.json")
	if err != nil {
		b.Fatal(err)
	}
	records := make([][]byte, 10000)
	for i := range records {
		records[i] = bytes.ReplaceAll(record, []byte("USN-8262-1"), []byte(fmt.Sprintf("USN-%d-1", 100000+i)))
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		batch := make([]patchwatch.Advisory, 0, 1000)
		for _, r := range records {
			advisories, err := usn.Parse(r)
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, advisories...)
			if len(batch) == cap(batch) {
				if _, err := s.UpsertAdvisories(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkImportDebianLists parses and stores the whole real DSA and DLA
// lists (8,913 advisories) into a new database, as `patchwatch import` does.
func BenchmarkImportDebianLists(b *testing.B) {
	var lists [][]byte
	for _, name := range []string{"../feeds/dsa/testdata/DSA.list", "../feeds/dsa/testdata/DLA.list"} {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		lists = append(lists, data)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, data := range lists {
			advisories, _ := dsa.Parse(data)
			for start := 0; start < len(advisories); start += 1000 {
				if _, err := s.UpsertAdvisories(context.Background(), advisories[start:min(start+1000, len(advisories))]); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
