package bolt_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

func testHost(name string, pkgs ...string) patchwatch.Host {
	h := patchwatch.Host{Name: name, Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: time.Unix(1e9, 0).UTC()}
	for _, p := range pkgs {
		h.Packages = append(h.Packages, patchwatch.Package{Name: p, Version: "1.0-1", SourceName: p, SourceVersion: "1.0-1", Arch: "amd64"})
	}
	return h
}

func pairs(h patchwatch.Host) []store.ReleasePackage {
	var out []store.ReleasePackage
	for _, p := range h.Packages {
		out = append(out, store.ReleasePackage{Release: h.Release, Package: p.Name})
	}
	return out
}

// TestPackageIndexAcrossShards: hosts in many shards are found under
// their packages, and an inventory change or a removal takes them out.
func TestPackageIndexAcrossShards(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	want := map[string][]string{}
	for i := range 300 {
		pkg := fmt.Sprintf("p%d", i%7)
		h := testHost(fmt.Sprintf("vm%03d", i), "common", pkg)
		if err := s.PutHost(ctx, h, pairs(h)); err != nil {
			t.Fatal(err)
		}
		want[pkg] = append(want[pkg], h.Name)
	}
	// vm005 moves from p5 to p6; vm010 is removed.
	h := testHost("vm005", "common", "p6")
	if err := s.PutHost(ctx, h, pairs(h)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveHost(ctx, "vm010", time.Now()); err != nil {
		t.Fatal(err)
	}
	want["p5"] = slices.DeleteFunc(want["p5"], func(n string) bool { return n == "vm005" })
	want["p6"] = append(want["p6"], "vm005")
	want["p3"] = slices.DeleteFunc(want["p3"], func(n string) bool { return n == "vm010" })
	for _, pkg := range []string{"p3", "p5", "p6"} {
		slices.Sort(want[pkg])
		got, err := s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: "ubuntu:22.04", Package: pkg}})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want[pkg]) {
			t.Errorf("%s: got %v, want %v", pkg, got, want[pkg])
		}
	}
	all, err := s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: "ubuntu:22.04", Package: "common"}, {Release: "debian:12", Package: "common"}})
	if err != nil || len(all) != 299 {
		t.Fatalf("common: %d hosts, %v; want 299", len(all), err)
	}
	back, err := s.Host(ctx, "vm005")
	if err != nil || fmt.Sprint(back.Packages) != fmt.Sprint(h.Packages) {
		t.Fatalf("host round trip through the tuple table: %v %+v", err, back.Packages)
	}
}

// TestMigrateFromSchema5: a schema 5 database (hosts as JSON, the old
// release/package/host index) opens as schema 6 with host records, the
// hosts readable, and a full re-evaluation flagged.
func TestMigrateFromSchema5(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := testHost("old1", "openssl", "zlib")
	h.Owner = "Ann@example.org"
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("meta"))
		if err := meta.Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 5)); err != nil {
			return err
		}
		hosts, _ := tx.CreateBucket([]byte("hosts"))
		data, _ := json.Marshal(h)
		if err := hosts.Put([]byte(h.Name), data); err != nil {
			return err
		}
		idx, _ := tx.CreateBucket([]byte("host_packages"))
		return idx.Put([]byte("ubuntu:22.04\x00openssl\x00old1"), nil)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	why, err := s.EvaluationPending(ctx)
	if err != nil || why == "" {
		t.Fatalf("evaluation pending = %q, %v; want a reason", why, err)
	}
	rec, err := s.HostRecord(ctx, "old1")
	if err != nil || rec.Packages != 2 || rec.Owner != h.Owner {
		t.Fatalf("record %+v, %v", rec, err)
	}
	var owned []string
	if err := s.EachHostRecord(ctx, "ann@EXAMPLE.org", "", func(r *patchwatch.HostRecord) error { owned = append(owned, r.Name); return nil }); err != nil || len(owned) != 1 {
		t.Fatalf("owner index: %v, %v", owned, err)
	}
	back, err := s.Host(ctx, "old1")
	if err != nil || len(back.Packages) != 2 {
		t.Fatalf("old host value: %+v, %v", back, err)
	}
	// The old index is gone; the re-evaluation indexes the host again.
	if got, _ := s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: "ubuntu:22.04", Package: "openssl"}}); len(got) != 0 {
		t.Fatalf("old index still answers: %v", got)
	}
	if err := s.SyncBatch(ctx, []store.Evaluation{{Host: back, Index: pairs(back)}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: "ubuntu:22.04", Package: "openssl"}}); len(got) != 1 {
		t.Fatalf("re-indexed: %v", got)
	}
}

// TestPackageIndexBlocksAndMigrationFrom6: hosts with pairs over several
// blocks of pair IDs and several shards are found by each pair; the same
// index written in schema 6's layout (one bitmap per shard and pair)
// opens as schema 7 with the same answers.
func TestPackageIndexBlocksAndMigrationFrom6(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for i := range 150 {
		var pkgs []string
		// Pairs 0..699 spread over three blocks; each host has a stride.
		for p := i % 5; p < 700; p += 1 + i%7 {
			pkgs = append(pkgs, fmt.Sprintf("q%03d", p))
		}
		h := testHost(fmt.Sprintf("vm%03d", i), pkgs...)
		if err := s.PutHost(ctx, h, pairs(h)); err != nil {
			t.Fatal(err)
		}
		for _, p := range pkgs {
			want[p] = append(want[p], h.Name)
		}
	}
	// vm007 drops all but one package; vm100 is removed.
	h := testHost("vm007", "q699")
	if err := s.PutHost(ctx, h, pairs(h)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveHost(ctx, "vm100", time.Now()); err != nil {
		t.Fatal(err)
	}
	for p := range want {
		want[p] = slices.DeleteFunc(want[p], func(n string) bool { return n == "vm007" || n == "vm100" })
	}
	want["q699"] = append(want["q699"], "vm007")
	check := func(s *bolt.Store, stage string) {
		t.Helper()
		for _, p := range []string{"q000", "q001", "q255", "q256", "q257", "q511", "q512", "q698", "q699"} {
			w := slices.Clone(want[p])
			slices.Sort(w)
			got, err := s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: "ubuntu:22.04", Package: p}})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("%s, %s: got %v, want %v", stage, p, got, w)
			}
		}
	}
	check(s, "schema 7")
	s.Close()

	// Rewrite the index as schema 6 kept it.
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		old, err := tx.CreateBucket([]byte("package_hosts"))
		if err != nil {
			return err
		}
		blocks := tx.Bucket([]byte("package_host_blocks"))
		err = blocks.ForEach(func(k, v []byte) error {
			shard, block := binary.BigEndian.Uint32(k), binary.BigEndian.Uint32(k[4:])
			at := 32
			for i := range 256 {
				if v[i/8]&(1<<(i%8)) == 0 {
					continue
				}
				key := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, shard), block*256+uint32(i))
				if err := old.Put(key, v[at:at+8]); err != nil {
					return err
				}
				at += 8
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket([]byte("package_host_blocks")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 6))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s, "migrated from schema 6")
	// The migrated index keeps changing as before.
	if !slices.Contains(want["q513"], "vm008") {
		t.Fatal("vm008 should start under q513")
	}
	h = testHost("vm008", "q000")
	if err := s.PutHost(ctx, h, pairs(h)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.HostsWithPackages(ctx, []store.ReleasePackage{{Release: "ubuntu:22.04", Package: "q513"}}); slices.Contains(got, "vm008") {
		t.Fatalf("vm008 still indexed under q513 after its new report: %v", got)
	}
}
