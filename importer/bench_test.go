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
	"github.com/patchwatch/patchwatch/feeds/rhsa"
	"github.com/patchwatch/patchwatch/feeds/usn"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// BenchmarkImport10000USN parses and stores 10,000 USN OSV records, made by
// renumbering the real USN-8262-1 record, in transactions of 1,000 as
// `patchwatch import` does. One iteration is the whole import.
func BenchmarkImport10000USN(b *testing.B) {
	record, err := os.ReadFile("../samples/usn/USN-8262-1.json")
	if err != nil {
		b.Fatal(err)
	}
	records := make([][]byte, 10000)
	for i := range records {
		records[i] = bytes.ReplaceAll(record, []byte("USN-8262-1"), []byte(fmt.Sprintf("USN-%d-1", 100000+i)))
	}
	benchImport(b, records, usn.Parse)
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
	benchImport(b, lists, dsa.Parse)
}

// BenchmarkImport30000CSAF parses and stores 30,000 Red Hat CSAF
// documents, made by renumbering three real ones (a kernel advisory on
// three streams, sudo on six, a module stream), in transactions of 1,000.
func BenchmarkImport30000CSAF(b *testing.B) {
	var docs [][]byte
	for _, name := range []string{"2023/rhsa-2023_7434.json", "2024/rhsa-2024_0811.json", "2024/rhsa-2024_1431.json"} {
		data, err := os.ReadFile("../feeds/rhsa/testdata/" + name)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, data)
	}
	ids := []string{"RHSA-2023:7434", "RHSA-2024:0811", "RHSA-2024:1431"}
	records := make([][]byte, 30000)
	for i := range records {
		k := i % 3
		records[i] = bytes.ReplaceAll(docs[k], []byte(ids[k]), []byte(fmt.Sprintf("RHSA-2030:%05d", i)))
	}
	benchImport(b, records, func(data []byte) ([]patchwatch.Advisory, error) {
		a, err := rhsa.Parse(data)
		return []patchwatch.Advisory{a}, err
	})
}

// benchImport runs parse over records and stores the advisories in a new
// database, 1,000 per transaction, once per benchmark iteration.
func benchImport(b *testing.B, records [][]byte, parse func([]byte) ([]patchwatch.Advisory, error)) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var batch []patchwatch.Advisory
		flush := func() {
			if _, err := s.UpsertAdvisories(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		for _, r := range records {
			advisories, err := parse(r)
			if err != nil && len(advisories) == 0 {
				b.Fatal(err)
			}
			for _, a := range advisories {
				batch = append(batch, a)
				if len(batch) == 1000 {
					flush()
				}
			}
		}
		flush()
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
