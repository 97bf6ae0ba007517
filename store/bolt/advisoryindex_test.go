package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

func indexKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	if err := s.db.View(func(tx *bbolt.Tx) error {
		names := tx.Bucket(bucketHostNames)
		return tx.Bucket(bucketAdvisorySets).ForEach(func(k, v []byte) error {
			found := map[uint32]bool{}
			addHostSet(found, binary.BigEndian.Uint32(k), v)
			for id := range found {
				keys = append(keys, string(k[4:])+"\x00"+string(names.Get(u32(id))))
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func deferred(t *testing.T, s *Store) bool {
	t.Helper()
	var d bool
	if err := s.db.View(func(tx *bbolt.Tx) error { d = advisoryIndexDeferred(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDeferredAdvisoryIndex: a bulk load into a database without findings
// defers the advisory index; meanwhile the hosts of an advisory are found
// all the same, and the end of the full re-evaluation builds the index
// the writes would have.
func TestDeferredAdvisoryIndex(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	host := func(name string) patchwatch.Host {
		return patchwatch.Host{Name: name, Owner: "ana@example.org", Release: "debian:12", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: t0,
			Packages: []patchwatch.Package{{Name: "sudo", Version: "1.9.13p3-1", SourceName: "sudo", SourceVersion: "1.9.13p3-1"}}}
	}
	index := []store.ReleasePackage{{Release: "debian:12", Package: "sudo"}}
	finding := func(h, advisory string) patchwatch.Finding {
		return patchwatch.Finding{Host: h, Advisory: advisory, Status: patchwatch.StatusUpdate, Urgency: patchwatch.UrgencyHigh,
			Packages: []patchwatch.FindingPackage{{Name: "sudo", Installed: "1.9.13p3-1", Fixed: "1.9.13p3-1+deb12u1"}}}
	}
	var entries []store.HostEntry
	for _, n := range []string{"vm1", "vm2", "vm3"} {
		entries = append(entries, store.HostEntry{Host: host(n), Index: index})
	}
	if err := s.PutHosts(ctx, entries); err != nil {
		t.Fatal(err)
	}
	if !deferred(t, s) {
		t.Fatal("a bulk load into an empty database does not defer the index")
	}
	// The first evaluation's writes, a report among them.
	batch := []store.Evaluation{
		{Host: host("vm1"), Findings: []patchwatch.Finding{finding("vm1", "DSA-5-1"), finding("vm1", "DSA-7-1")}},
		{Host: host("vm3"), Findings: []patchwatch.Finding{finding("vm3", "DSA-7-1")}},
	}
	if err := s.SyncBatch(ctx, batch, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyReport(ctx, host("vm2"), index, []patchwatch.Finding{finding("vm2", "DSA-5-1")}, false, t0); err != nil {
		t.Fatal(err)
	}
	if keys := indexKeys(t, s); len(keys) != 0 {
		t.Fatalf("deferred index written: %q", keys)
	}
	want := map[string][]string{"DSA-5-1": {"vm1", "vm2"}, "DSA-7-1": {"vm1", "vm3"}, "DSA-9-1": nil}
	check := func(when string) {
		t.Helper()
		for id, hosts := range want {
			if got, err := s.HostsWithAdvisories(ctx, []string{id}); err != nil || !slices.Equal(got, hosts) {
				t.Fatalf("%s: hosts with %s: %v %v, want %v", when, id, got, err, hosts)
			}
		}
	}
	check("deferred")
	// A finding resolved while deferred (vm3 fixed) is not in the index built.
	if err := s.SyncBatch(ctx, []store.Evaluation{{Host: host("vm3")}}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want["DSA-7-1"] = []string{"vm1"}
	check("deferred, one resolved")
	if err := s.SetEvaluationPending(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if deferred(t, s) {
		t.Fatal("still deferred after the full re-evaluation")
	}
	if got, want := indexKeys(t, s), []string{"DSA-5-1\x00vm1", "DSA-5-1\x00vm2", "DSA-7-1\x00vm1"}; !slices.Equal(got, want) {
		t.Fatalf("index built: %q, want %q", got, want)
	}
	check("built")
	// From now on the writes keep it, and a bulk load into a database
	// with findings does not defer it.
	if err := s.PutHosts(ctx, []store.HostEntry{{Host: host("vm4"), Index: index}}); err != nil {
		t.Fatal(err)
	}
	if deferred(t, s) {
		t.Fatal("a bulk load into a database with findings defers the index")
	}
	if err := s.SyncBatch(ctx, []store.Evaluation{{Host: host("vm4"), Findings: []patchwatch.Finding{finding("vm4", "DSA-9-1")}}}, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	want["DSA-9-1"] = []string{"vm4"}
	check("kept")
}

// TestAdvisoryIndexShardsAndMigrations: the index finds an advisory's
// hosts across shards of host IDs as findings open and close and hosts go;
// databases of schema 9 (shards of 64 hosts, a bitmap each) and of schema 7
// (advisory NUL host keys) answer the same opened read-only, and opened to
// write migrate to schema 10's index.
func TestAdvisoryIndexShardsAndMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pw.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	index := []store.ReleasePackage{{Release: "debian:12", Package: "sudo"}}
	report := func(name string, advisories ...string) {
		t.Helper()
		h := patchwatch.Host{Name: name, Release: "debian:12", Family: patchwatch.FamilyDebian, SourceInfo: true, ReportedAt: t0,
			Packages: []patchwatch.Package{{Name: "sudo", Version: "1.9.13p3-1", SourceName: "sudo", SourceVersion: "1.9.13p3-1"}}}
		var findings []patchwatch.Finding
		for _, a := range advisories {
			findings = append(findings, patchwatch.Finding{Host: name, Advisory: a, Status: patchwatch.StatusUpdate, Urgency: patchwatch.UrgencyHigh,
				Packages: []patchwatch.FindingPackage{{Name: "sudo", Installed: "1.9.13p3-1", Fixed: "1.9.13p3-1+deb12u1"}}})
		}
		if _, err := s.ApplyReport(ctx, h, index, findings, false, t0); err != nil {
			t.Fatal(err)
		}
	}
	// Host IDs 4,021 to 4,170: two shards.
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketHostIDs).SetSequence(advisoryShardHosts - 76) }); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"DSA-1-1": nil, "DSA-2-1": nil, "DSA-3-1": nil}
	for i := range 150 {
		name := fmt.Sprintf("h%03d", i)
		var advisories []string
		for _, a := range []struct {
			id    string
			every int
		}{{"DSA-1-1", 3}, {"DSA-2-1", 5}, {"DSA-3-1", 149}} {
			if i%a.every == 0 {
				advisories = append(advisories, a.id)
				want[a.id] = append(want[a.id], name)
			}
		}
		report(name, advisories...)
	}
	// h000 is fixed, h003 loses DSA-1-1 and gains DSA-2-1, h005 goes.
	report("h000")
	report("h003", "DSA-2-1")
	if _, err := s.RemoveHost(ctx, "h005", t0); err != nil {
		t.Fatal(err)
	}
	drop := func(id string, names ...string) {
		want[id] = slices.DeleteFunc(want[id], func(n string) bool { return slices.Contains(names, n) })
	}
	drop("DSA-1-1", "h000", "h003")
	drop("DSA-2-1", "h000", "h005")
	drop("DSA-3-1", "h000")
	want["DSA-2-1"] = append(want["DSA-2-1"], "h003")
	slices.Sort(want["DSA-2-1"])
	check := func(s *Store, when string) {
		t.Helper()
		for id, hosts := range want {
			if got, err := s.HostsWithAdvisories(ctx, []string{id}); err != nil || !slices.Equal(got, hosts) {
				t.Fatalf("%s: hosts with %s: %v %v, want %v", when, id, got, err, hosts)
			}
		}
	}
	check(s, "schema 10")
	built := indexKeys(t, s)
	// Several advisories at once, by reads and by a walk of the index.
	union := slices.Concat(want["DSA-1-1"], want["DSA-2-1"])
	slices.Sort(union)
	union = slices.Compact(union)
	if got, err := s.HostsWithAdvisories(ctx, []string{"DSA-2-1", "DSA-1-1", "DSA-404-1"}); err != nil || !slices.Equal(got, union) {
		t.Fatalf("hosts with DSA-1-1 or DSA-2-1: %v %v, want %v", got, err, union)
	}
	if err := s.db.View(func(tx *bbolt.Tx) error {
		b, wanted := tx.Bucket(bucketAdvisorySets), map[string]bool{"DSA-1-1": true, "DSA-2-1": true}
		shards := uint32(tx.Bucket(bucketHostIDs).Sequence()/advisoryShardHosts) + 1
		if byReads, byWalk := advisoryHostIDsByReads(b, wanted, shards), advisoryHostIDsByWalk(b, wanted); len(byReads) != len(union) || !maps.Equal(byReads, byWalk) {
			t.Errorf("by reads %v, by a walk %v: want %d hosts each", byReads, byWalk, len(union))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	reopen := func(when string) {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		ro, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		check(ro, when+" read-only")
		if err := ro.Close(); err != nil {
			t.Fatal(err)
		}
		if s, err = Open(path, Options{}); err != nil {
			t.Fatal(err)
		}
		check(s, "migrated from "+when)
		if got := indexKeys(t, s); !slices.Equal(got, built) {
			t.Errorf("migrated from %s: index %q, want %q", when, got, built)
		}
		if err := s.db.View(func(tx *bbolt.Tx) error {
			for _, older := range [][]byte{bucketOldAdvisoryIndex, bucketAdvisoryBits} {
				if tx.Bucket(older) != nil {
					t.Errorf("migrated from %s: %s is still there", when, older)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The older layouts, from the finding details.
	older := func(schema uint64, bucket []byte, put func(b *bbolt.Bucket, id uint32, host, advisory string) error) {
		t.Helper()
		if err := s.db.Update(func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucket(bucket)
			if err != nil {
				return err
			}
			if err := eachStoredDetail(tx, func(host, advisory, _ []byte) error {
				id, _, err := sequenceID(tx.Bucket(bucketHostIDs), nil, host, false)
				if err != nil {
					return err
				}
				return put(b, id, string(host), string(advisory))
			}); err != nil {
				return err
			}
			// And the details as those schemas kept them.
			if err := toLegacyDetails(tx); err != nil {
				return err
			}
			if err := tx.DeleteBucket(bucketAdvisorySets); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, schema))
		}); err != nil {
			t.Fatal(err)
		}
	}
	older(9, bucketAdvisoryBits, func(b *bbolt.Bucket, id uint32, _, advisory string) error {
		key := append(u32(id/64), advisory...)
		var word uint64
		if v := b.Get(key); len(v) == 8 {
			word = binary.BigEndian.Uint64(v)
		}
		return b.Put(key, binary.BigEndian.AppendUint64(nil, word|1<<(id%64)))
	})
	reopen("schema 9")
	older(7, bucketOldAdvisoryIndex, func(b *bbolt.Bucket, _ uint32, host, advisory string) error {
		return b.Put(pairKey(advisory, host), nil)
	})
	reopen("schema 7")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHostSets: a set changed one host at a time, across the list and
// bitmap forms, holds what a map does and is always in the form a build
// gives it.
func TestHostSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var set []byte
	in := map[uint16]bool{}
	bitmaps, lists := 0, 0
	for step := range 20000 {
		// Grow to past the bitmap's threshold, then shrink and grow again.
		on := rng.IntN(10) < 6
		if step > 8000 && step < 14000 {
			on = rng.IntN(10) < 3
		}
		off := uint16(rng.IntN(700))
		next, changed := hostSetWith(set, off, on)
		if changed == (in[off] == on) {
			t.Fatalf("step %d: set %d to %v: changed %v, held %v", step, off, on, changed, in[off])
		}
		set = next
		if on {
			in[off] = true
		} else {
			delete(in, off)
		}
		offsets := slices.Sorted(maps.Keys(in))
		if want := appendHostSet(nil, offsets); !bytes.Equal(set, want) && (len(set) != 0 || len(want) != 0) {
			t.Fatalf("step %d: %d hosts as %d bytes, want %d", step, len(in), len(set), len(want))
		}
		if len(offsets) == 0 && set != nil {
			t.Fatalf("step %d: empty set %x, want none", step, set)
		}
		if len(set) == setBitmapLen {
			bitmaps++
		} else if bitmaps > 0 {
			lists++
		}
	}
	if bitmaps == 0 || lists == 0 {
		t.Fatalf("%d steps as a bitmap, %d as a list after: both forms were not exercised", bitmaps, lists)
	}
	found := map[uint32]bool{}
	addHostSet(found, 2, set)
	if len(found) != len(in) {
		t.Fatalf("decoded %d hosts, want %d", len(found), len(in))
	}
	for off := range in {
		if !found[2*advisoryShardHosts+uint32(off)] {
			t.Fatalf("host %d missing", off)
		}
	}
}
