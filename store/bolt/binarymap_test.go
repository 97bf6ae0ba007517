package bolt_test

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

func debianHost(name string, pkgs ...patchwatch.Package) patchwatch.Host {
	return patchwatch.Host{Name: name, Release: "debian:12", Family: patchwatch.FamilyDebian, Packages: pkgs, SourceInfo: true}
}

func TestBinaryMap(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	h := debianHost("a",
		patchwatch.Package{Name: "libc6", Version: "2.36-9+deb12u4", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4"},
		patchwatch.Package{Name: "libxml2-utils", Version: "2.9.14+dfsg-1.3~deb12u1+b1", SourceName: "libxml2", SourceVersion: "2.9.14+dfsg-1.3~deb12u1"},
		patchwatch.Package{Name: "gcc", Version: "4:12.2.0-3", SourceName: "gcc-defaults", SourceVersion: "1.203"},
		patchwatch.Package{Name: "bash", Version: "5.2.15-2+b2", SourceName: "bash", SourceVersion: "5.2.15-2"},
		patchwatch.Package{Name: "linux-image-6.1.0-31-amd64", Version: "6.1.129-1", SourceName: "linux-signed-amd64", SourceVersion: "6.1.129+1"},
	)
	fresh, err := s.LearnBinarySources(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ReleasePackage{{Release: "debian:12", Package: "libc6"}, {Release: "debian:12", Package: "libxml2-utils"}, {Release: "debian:12", Package: "linux-image-6.1.0-31-amd64"}}
	if !reflect.DeepEqual(fresh, want) {
		t.Errorf("fresh %v, want %v (gcc does not track gcc-defaults' version; bash is its own source)", fresh, want)
	}
	if fresh, err = s.LearnBinarySources(ctx, &h); err != nil || fresh != nil {
		t.Errorf("a repeated inventory learnt %v, %v", fresh, err)
	}
	got, _, err := s.BinarySources(ctx, "debian:12", []string{"libc6", "libxml2-utils", "gcc", "bash", "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"libc6": {"glibc"}, "libxml2-utils": {"libxml2"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("BinarySources = %v, want %v", got, want)
	}
	if got, _, _ := s.BinarySources(ctx, "debian:11", []string{"libc6"}); len(got) != 0 {
		t.Errorf("another release's map: %v", got)
	}

	// One inventory where the versions part ways marks the pair untracked.
	odd := debianHost("b", patchwatch.Package{Name: "libc6", Version: "9.9-1", SourceName: "glibc", SourceVersion: "2.36-9"})
	if _, err := s.LearnBinarySources(ctx, &odd); err != nil {
		t.Fatal(err)
	}
	if got, untracked, _ := s.BinarySources(ctx, "debian:12", []string{"libc6"}); len(got) != 0 || !reflect.DeepEqual(untracked, map[string][]string{"libc6": {"glibc"}}) {
		t.Errorf("untracked pair still used: %v, %v", got, untracked)
	}

	// Advisories teach the binaries they list.
	f := fix("ubuntu:24.04", "openexr", "3.1.5-5.1ubuntu0.1~esm1")
	f.Binaries = []string{"libopenexr-3-1-30", "openexr"}
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{advisory("USN-8259-1", time.Now(), f)}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.BinarySources(ctx, "ubuntu:24.04", []string{"libopenexr-3-1-30", "openexr"}); !reflect.DeepEqual(got, map[string][]string{"libopenexr-3-1-30": {"openexr"}}) {
		t.Errorf("from the advisory: %v", got)
	}
	built, err := s.BinariesBuilt(ctx, []store.ReleasePackage{{Release: "debian:12", Package: "glibc"}, {Release: "ubuntu:24.04", Package: "openexr"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.ReleasePackage{{Release: "debian:12", Package: "libc6"}, {Release: "ubuntu:24.04", Package: "libopenexr-3-1-30"}}; !reflect.DeepEqual(built, want) {
		t.Errorf("BinariesBuilt = %v, want %v", built, want)
	}
}

// TestBinaryMapMigration opens a version 5 database (no map) and finds the
// map filled from the hosts and advisories it already held.
func TestBinaryMapMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pw.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := debianHost("a", patchwatch.Package{Name: "libc6", Version: "2.36-9", SourceName: "glibc", SourceVersion: "2.36-9"})
	if err := s.PutHost(ctx, h, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		for _, b := range []string{"binary_sources", "source_binaries"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 5))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err = bolt.Open(path, bolt.Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _, _ := s.BinarySources(ctx, "debian:12", []string{"libc6"}); !reflect.DeepEqual(got, map[string][]string{"libc6": {"glibc"}}) {
		t.Errorf("after migration: %v", got)
	}
}

// TestBinaryMapRebuild: a rebuild host teaches its own release and Red
// Hat's, whose advisories it is matched against.
func TestBinaryMapRebuild(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	h := patchwatch.Host{Name: "alma", Release: "almalinux:9", Family: patchwatch.FamilyRPM, SourceInfo: true, Packages: []patchwatch.Package{
		{Name: "python3-libs", Version: "0:3.9.16-1.el9_2.1", SourceName: "python3.9", SourceVersion: "0:3.9.16-1.el9_2.1"},
		{Name: "npm", Version: "1:9.5.0-1.18.14.2.3.module+el9.2.0", SourceName: "nodejs", SourceVersion: "1:18.14.2-3.module+el9.2.0"},
	}}
	if _, err := s.LearnBinarySources(ctx, &h); err != nil {
		t.Fatal(err)
	}
	for _, release := range []string{"almalinux:9", "rhel:9"} {
		got, _, err := s.BinarySources(ctx, release, []string{"python3-libs", "npm"})
		if err != nil || !reflect.DeepEqual(got, map[string][]string{"python3-libs": {"python3.9"}}) {
			t.Errorf("%s: %v, %v (npm's version does not follow nodejs')", release, got, err)
		}
	}
}

// TestBinaryMapOwnVersions: an advisory's binary with a fixed version of
// its own does not track its source, so the map never compares it by the
// source's fixes; its advisories are still found through it.
func TestBinaryMapOwnVersions(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	f := fix("ubuntu:22.04", "util-linux", "2.37.2-4ubuntu3.4")
	f.Binaries = []string{"bsdutils", "libmount1"}
	f.BinaryVersions = map[string]string{"bsdutils": "1:2.37.2-4ubuntu3.4"}
	if _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{advisory("USN-7-1", time.Now(), f)}); err != nil {
		t.Fatal(err)
	}
	tracking, untracked, err := s.BinarySources(ctx, "ubuntu:22.04", []string{"bsdutils", "libmount1"})
	if err != nil || !reflect.DeepEqual(tracking, map[string][]string{"libmount1": {"util-linux"}}) || !reflect.DeepEqual(untracked, map[string][]string{"bsdutils": {"util-linux"}}) {
		t.Errorf("tracking %v, untracked %v, %v", tracking, untracked, err)
	}
	a, err := s.Advisory(ctx, "USN-7-1")
	if err != nil || a.Fixes[0].BinaryVersions["bsdutils"] != "1:2.37.2-4ubuntu3.4" {
		t.Errorf("stored %+v, %v", a.Fixes, err)
	}
}
