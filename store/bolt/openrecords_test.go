package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// toLegacyRecords puts the open records back under their findings keys
// and drops open_records, as a build of schema 11 or before left them.
func toLegacyRecords(tx *bbolt.Tx) error {
	findings := tx.Bucket(bucketFindings)
	err := tx.Bucket(bucketOpenRecords).ForEach(func(k, v []byte) error {
		return eachDetail(v, func(advisory, encoding []byte) error {
			return findings.Put(pairKey(string(k), string(advisory)), bytes.Clone(encoding))
		})
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketOpenRecords)
}

// TestOpenRecords takes records through opening, fixing, reopening,
// withdrawal and the removal of their host, checks that each is stored in
// exactly one place (its host's value when open, its key when resolved)
// and that every reader sees the same history, then that a schema 11
// database (every record under its key) reads the same read-only and
// after its migration.
func TestOpenRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pw.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	advisories := []string{"USN-7001-1", "USN-7002-1", "USN-7003-2"}
	hosts := make([]patchwatch.Host, 30)
	for i := range hosts {
		hosts[i] = patchwatch.Host{Name: fmt.Sprintf("vm%02d", i), Owner: "alice", Release: "jammy", Family: patchwatch.FamilyDebian}
		if err := s.PutHost(ctx, hosts[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	// sync evaluates every host with the advisories keep picks.
	sync := func(at time.Time, keep func(host, advisory int) bool) {
		t.Helper()
		var batch []store.Evaluation
		for i, h := range hosts {
			var findings []patchwatch.Finding
			for j, adv := range advisories {
				if keep(i, j) {
					findings = append(findings, patchwatch.Finding{Host: h.Name, Advisory: adv, Urgency: patchwatch.UrgencyHigh, Status: patchwatch.StatusUpdate,
						Packages: []patchwatch.FindingPackage{{Name: "openssl", Installed: "1", Fixed: "2"}}})
				}
			}
			batch = append(batch, store.Evaluation{Host: h, Findings: findings})
		}
		if err := s.SyncBatch(ctx, batch, at); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	sync(t0, func(i, j int) bool { return j <= i%3 })
	sync(t0.Add(time.Hour), func(i, j int) bool { return j <= i%3 && (i%2 == 0 || j > 0) })   // odd hosts fix the first
	sync(t0.Add(2*time.Hour), func(i, j int) bool { return j <= i%3 && (i%4 != 1 || j > 0) }) // hosts 3, 7, ... reopen it
	if _, err := s.RemoveHost(ctx, "vm05", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Each record in one place, in the right one.
	err = s.db.View(func(tx *bbolt.Tx) error {
		open := map[string]bool{}
		err := tx.Bucket(bucketOpenRecords).ForEach(func(k, v []byte) error {
			records, err := decodeOpenRecords(v, string(k), nil, nil)
			for _, r := range records {
				open[string(k)+"/"+r.Advisory] = true
			}
			return err
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketFindings).ForEach(func(k, v []byte) error {
			var r patchwatch.FindingRecord
			if err := decodeFindingRecord(v, &r); err != nil {
				return err
			}
			if r.Open() || open[r.Host+"/"+r.Advisory] {
				t.Errorf("%s/%s under its key: open %v, in its host's value %v", r.Host, r.Advisory, r.Open(), open[r.Host+"/"+r.Advisory])
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		all, one, walked []patchwatch.FindingRecord
	}
	read := func(s *Store) view {
		t.Helper()
		var v view
		var err error
		if v.all, err = s.FindingRecords(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if v.one, err = s.FindingRecords(ctx, "vm07"); err != nil {
			t.Fatal(err)
		}
		if err := s.EachFindingRecord(ctx, func(r *patchwatch.FindingRecord) error { v.walked = append(v.walked, *r); return nil }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := read(s)
	if len(want.all) != 60 || !reflect.DeepEqual(want.walked, want.all) {
		t.Fatalf("%d records, walked %d", len(want.all), len(want.walked))
	}
	if !slices.IsSortedFunc(want.all, func(a, b patchwatch.FindingRecord) int {
		return bytes.Compare(pairKey(a.Host, a.Advisory), pairKey(b.Host, b.Advisory))
	}) {
		t.Error("records not in (host, advisory) order")
	}
	var opened, resolved, reopened int
	for _, r := range want.all {
		switch {
		case r.Open() && r.Reopened > 0:
			reopened++
		case r.Open():
			opened++
		case r.ResolvedBy == "host-removed":
			if r.Host != "vm05" {
				t.Errorf("%s/%s resolved as removed", r.Host, r.Advisory)
			}
		default:
			resolved++
		}
	}
	// Hosts 1, 5 (removed), 9, ... fixed their first; 3, 7, ... reopened it.
	if reopened != 7 || resolved != 8 || opened != 43 {
		t.Errorf("%d open, %d reopened, %d resolved", opened, reopened, resolved)
	}
	if len(want.one) != 2 || want.one[0].Advisory != "USN-7001-1" || want.one[0].Reopened != 1 {
		t.Errorf("vm07's records: %+v", want.one)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if err := toLegacyRecords(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, 11))
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, readOnly := range []bool{true, false} {
		s, err := Open(path, Options{ReadOnly: readOnly})
		if err != nil {
			t.Fatal(err)
		}
		if got := read(s); !reflect.DeepEqual(got, want) {
			t.Errorf("read-only %v: got %+v, want %+v", readOnly, got, want)
		}
		err = s.db.View(func(tx *bbolt.Tx) error {
			if migrated := tx.Bucket(bucketOpenRecords) != nil; migrated == readOnly {
				t.Errorf("read-only %v: open_records there: %v", readOnly, migrated)
			}
			if n := tx.Bucket(bucketFindings).Stats().KeyN; !readOnly && n != 60-43-7 {
				t.Errorf("%d findings keys after the migration, want the 10 resolved", n)
			}
			return nil
		})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzOpenRecords(f *testing.F) {
	r := patchwatch.FindingRecord{Host: "h", Owner: "o", Advisory: "USN-1", Urgency: patchwatch.UrgencyHigh, Status: patchwatch.StatusUpdate,
		FirstSeen: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	f.Add(appendDetail(nil, "USN-1", encodeFindingRecord(&r)))
	f.Add(appendDetail(nil, "USN-2", encodeFindingRecord(&r)))
	f.Add([]byte{0x80, 0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		records, err := decodeOpenRecords(v, "h", nil, nil)
		if err != nil {
			return
		}
		var again []byte
		for i := range records {
			if !records[i].Open() {
				t.Fatalf("%q: resolved record %+v accepted", v, records[i])
			}
			again = appendDetail(again, records[i].Advisory, encodeFindingRecord(&records[i]))
		}
		if back, err := decodeOpenRecords(again, "h", nil, nil); err != nil || !reflect.DeepEqual(back, records) {
			t.Fatalf("%q: %v, %+v, want %+v", v, err, back, records)
		}
	})
}
