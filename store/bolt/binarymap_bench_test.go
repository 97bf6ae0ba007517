package bolt_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/store/bolt"
)

func benchHost(b *testing.B, file string) patchwatch.Host {
	b.Helper()
	data, err := os.ReadFile("../inventory/testdata/" + file)
	if err != nil {
		b.Fatal(err)
	}
	pkgs, sourceInfo, err := inventory.ParsePackages(file, data)
	if err != nil {
		b.Fatal(err)
	}
	return patchwatch.Host{Name: "h", Release: "debian:12", Family: patchwatch.FamilyDebian, Packages: pkgs, SourceInfo: sourceInfo}
}

// BenchmarkLearnKnownHost is the binary map's cost on every report of a
// host with source fields once its pairs are known (the common case: one
// read transaction, 716 packages, no write).
func BenchmarkLearnKnownHost(b *testing.B) {
	s, _ := openBench(b)
	h := benchHost(b, "debian12.dpkg-query.tsv")
	ctx := context.Background()
	if _, err := s.LearnBinarySources(ctx, &h); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if fresh, err := s.LearnBinarySources(ctx, &h); err != nil || fresh != nil {
			b.Fatal(fresh, err)
		}
	}
}

// BenchmarkLearnNewHost learns the pairs of a 716-package host that the
// map does not know (a new release each time): one durable write.
func BenchmarkLearnNewHost(b *testing.B) {
	s, _ := openBench(b)
	h := benchHost(b, "debian12.dpkg-query.tsv")
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		h.Release = fmt.Sprintf("debian:%d", 100+i)
		if fresh, err := s.LearnBinarySources(ctx, &h); err != nil || len(fresh) == 0 {
			b.Fatal(fresh, err)
		}
	}
}

// BenchmarkBinarySources2393 looks up the sources of the 2,393 packages of
// the real Ubuntu 24.04 dpkg -l, as matching a binary-only host does.
func BenchmarkBinarySources2393(b *testing.B) {
	s, _ := openBench(b)
	ctx := context.Background()
	teacher := benchHost(b, "debian12.dpkg-query.tsv")
	if _, err := s.LearnBinarySources(ctx, &teacher); err != nil {
		b.Fatal(err)
	}
	h := benchHost(b, "noble-eduvm.dpkg-l.txt")
	names := make([]string, len(h.Packages))
	for i, p := range h.Packages {
		names[i] = p.Name
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.BinarySources(ctx, "debian:12", names); err != nil {
			b.Fatal(err)
		}
	}
}

func openBench(b *testing.B) (*bolt.Store, string) {
	b.Helper()
	path := b.TempDir() + "/pw.db"
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, path
}
