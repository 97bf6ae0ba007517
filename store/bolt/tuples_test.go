package bolt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// TestHostTuples: hosts read as tuple IDs come without their packages,
// and the IDs give back exactly the inventory, in order; hosts sharing a
// package share its ID; a scan of the distinct tuples finds them by name;
// named hosts come in the order asked, the unknown left out.
func TestHostTuples(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	t0 := time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC)
	sudo := patchwatch.Package{Name: "sudo", Version: "1.9.13p3-1", Arch: "amd64", SourceName: "sudo", SourceVersion: "1.9.13p3-1"}
	libc := patchwatch.Package{Name: "libc6", Version: "2.36-9+deb12u4", Arch: "amd64", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4"}
	bin := patchwatch.Package{Name: "openssl", Version: "3.0.11-1~deb12u2"}
	hosts := []patchwatch.Host{
		{Name: "a", Owner: "o@example.com", Release: "debian:12", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: t0, Packages: []patchwatch.Package{sudo, libc}},
		{Name: "b", Release: "debian:12", Family: patchwatch.FamilyDebian, ReportedAt: t0, Packages: []patchwatch.Package{libc, bin}},
	}
	var entries []store.HostEntry
	for _, h := range hosts {
		entries = append(entries, store.HostEntry{Host: h})
	}
	if err := s.PutHosts(ctx, entries); err != nil {
		t.Fatal(err)
	}
	page, err := s.HostTuplesAfter(ctx, "", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 {
		t.Fatalf("%d hosts, want 2", len(page))
	}
	for i, ht := range page {
		if ht.Host.Name != hosts[i].Name || ht.Host.Owner != hosts[i].Owner || len(ht.Host.Packages) != 0 {
			t.Errorf("host %d: %+v, want %s without packages", i, ht.Host, hosts[i].Name)
		}
		pkgs, err := s.PackageTuples(ctx, ht.IDs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(pkgs, hosts[i].Packages) {
			t.Errorf("host %s: tuples give %+v, want %+v", ht.Host.Name, pkgs, hosts[i].Packages)
		}
	}
	if page[0].IDs[1] != page[1].IDs[0] {
		t.Errorf("libc6 has IDs %d and %d on two hosts", page[0].IDs[1], page[1].IDs[0])
	}
	idsA := append([]uint32(nil), page[0].IDs...)
	after, err := s.HostTuplesAfter(ctx, "a", 10, page) // page is read into again
	if err != nil || len(after) != 1 || after[0].Host.Name != "b" {
		t.Fatalf("after a: %+v, %v", after, err)
	}

	bits, last, err := s.TupleIDs(ctx, func(name, source []byte) bool { return bytes.Equal(source, []byte("glibc")) || len(source) == 0 })
	if err != nil {
		t.Fatal(err)
	}
	if last != 3 {
		t.Errorf("highest tuple ID %d, want 3", last)
	}
	has := func(id uint32) bool { return int(id/64) < len(bits) && bits[id/64]&(1<<(id%64)) != 0 }
	if !has(idsA[1]) || !has(after[0].IDs[1]) || has(idsA[0]) {
		t.Errorf("scan by source: libc6 %t, openssl %t, sudo %t; want true, true, false", has(idsA[1]), has(after[0].IDs[1]), has(idsA[0]))
	}

	named, err := s.HostTuplesNamed(ctx, []string{"b", "gone", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(named) != 2 || named[0].Host.Name != "b" || named[1].Host.Name != "a" || !reflect.DeepEqual(named[1].IDs, idsA) {
		t.Errorf("named b, gone, a: %+v", named)
	}
}

// FuzzDecodeIDs: the inline decoding of tuple IDs agrees with
// binary.Uvarint on any bytes.
func FuzzDecodeIDs(f *testing.F) {
	var seed []byte
	for _, id := range []uint64{1, 127, 128, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<32 - 1} {
		seed = binary.AppendUvarint(seed, id)
	}
	f.Add(seed, 8)
	f.Add([]byte{0x80, 0x80}, 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		got := make([]uint32, n)
		ok := bolt.DecodeIDs(b, got)
		want := make([]uint32, n)
		wantOK, rest := true, b
		for i := range want {
			id, k := binary.Uvarint(rest)
			if k <= 0 || id > 1<<32-1 {
				wantOK = false
				break
			}
			want[i], rest = uint32(id), rest[k:]
		}
		if ok != wantOK || ok && !slices.Equal(got, want) {
			t.Fatalf("decodeIDs(%x, %d) = %v %v, binary.Uvarint gives %v %v", b, n, got, ok, want, wantOK)
		}
	})
}
