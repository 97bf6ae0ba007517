package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// toLegacyDetails turns host_details back into schema 10's finding_details
// (host NUL advisory -> encoding), as an older build left them.
func toLegacyDetails(tx *bbolt.Tx) error {
	old, err := tx.CreateBucket(bucketFindingDetails)
	if err != nil {
		return err
	}
	err = eachStoredDetail(tx, func(host, advisory, encoding []byte) error {
		return old.Put(pairKey(string(host), string(advisory)), bytes.Clone(encoding))
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketHostDetails)
}

func TestDetailCodec(t *testing.T) {
	var v []byte
	v = appendDetail(v, "DSA-1", []byte{1, 2, 3})
	v = appendDetail(v, "USN-2", nil)
	v = appendDetail(v, "USN-3", []byte("x"))
	var got []string
	if err := eachDetail(v, func(a, e []byte) error { got = append(got, string(a)+"="+string(e)); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"DSA-1=\x01\x02\x03", "USN-2=", "USN-3=x"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	seek := detailSeeker{value: v, at: v}
	for _, c := range []struct{ advisory, want string }{{"USN-3", "x"}, {"DSA-1", "\x01\x02\x03"}, {"USN-9", ""}, {"USN-2", ""}} {
		e, err := seek.find(c.advisory)
		if err != nil || string(e) != c.want {
			t.Errorf("find %s = %q, %v; want %q", c.advisory, e, err, c.want)
		}
	}
	for _, bad := range [][]byte{{5, 'a'}, {1, 'a', 9, 'b'}, {0x80}} {
		if err := eachDetail(bad, func(_, _ []byte) error { return nil }); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzHostDetails(f *testing.F) {
	f.Add(appendDetail(appendDetail(nil, "USN-1", []byte("a")), "USN-2", []byte("bc")))
	f.Add([]byte{0x80, 0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		var again []byte
		if err := eachDetail(v, func(a, e []byte) error { again = appendDetail(again, string(a), e); return nil }); err != nil {
			return
		}
		if !bytes.Equal(again, v) {
			t.Errorf("%q re-encodes as %q", v, again)
		}
	})
}

// TestHostDetailsMigration opens a schema 10 database, its details one key
// per finding, read-only (read as they are) and then to write (regrouped
// into one value per host, the old bucket dropped), and checks every
// reader of the details sees the same before and after.
func TestHostDetailsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pw.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var batch []store.Evaluation
	for i := range 40 {
		h := patchwatch.Host{Name: "vm" + string(rune('a'+i%26)) + string(rune('0'+i/26)), Owner: "alice", Release: "jammy", Family: patchwatch.FamilyDebian}
		if err := s.PutHost(ctx, h, nil); err != nil {
			t.Fatal(err)
		}
		var findings []patchwatch.Finding
		for j := range i % 4 {
			adv := []string{"USN-7001-1", "USN-7002-1", "USN-7003-2"}[j]
			findings = append(findings, patchwatch.Finding{Host: h.Name, Advisory: adv, Title: "fix " + adv, Urgency: patchwatch.UrgencyHigh,
				CVEs: []string{"CVE-2026-0001"}, Packages: []patchwatch.FindingPackage{{Name: "openssl", Installed: "3.0.2-0ubuntu1.1", Fixed: "3.0.2-0ubuntu1.2"}}})
		}
		batch = append(batch, store.Evaluation{Host: h, Findings: findings})
	}
	if err := s.SyncBatch(ctx, batch, t0); err != nil {
		t.Fatal(err)
	}
	type view struct {
		host     []patchwatch.Finding
		listed   []patchwatch.Finding
		affected []string
	}
	read := func(s *Store) view {
		t.Helper()
		var v view
		var err error
		if v.host, err = s.HostFindings(ctx, "vmc0"); err != nil {
			t.Fatal(err)
		}
		var keys []store.HostAdvisory
		for _, e := range batch {
			for _, f := range e.Findings {
				keys = append(keys, store.HostAdvisory{Host: f.Host, Advisory: f.Advisory})
			}
		}
		keys = append(keys, store.HostAdvisory{Host: "vmd0", Advisory: "USN-9999-1"})
		if v.listed, err = s.FindingDetails(ctx, keys); err != nil {
			t.Fatal(err)
		}
		if v.affected, err = s.HostsWithAdvisories(ctx, []string{"USN-7003-2"}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := read(s)
	if len(want.host) != 2 || len(want.listed) != 60 || len(want.affected) != 10 {
		t.Fatalf("%d host findings, %d listed, %d affected", len(want.host), len(want.listed), len(want.affected))
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if err := toLegacyDetails(tx); err != nil {
			return err
		}
		if err := toLegacyRecords(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, 10))
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
		got := read(s)
		if !slices.EqualFunc(got.host, want.host, sameFinding) || !slices.EqualFunc(got.listed, want.listed, sameFinding) || !slices.Equal(got.affected, want.affected) {
			t.Errorf("read-only %v: got %+v, want %+v", readOnly, got, want)
		}
		err = s.db.View(func(tx *bbolt.Tx) error {
			if legacy := tx.Bucket(bucketFindingDetails) != nil; legacy != readOnly {
				t.Errorf("read-only %v: finding_details there: %v", readOnly, legacy)
			}
			return nil
		})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func sameFinding(a, b patchwatch.Finding) bool {
	ea, errA := encodeFinding(&a)
	eb, errB := encodeFinding(&b)
	return errA == nil && errB == nil && bytes.Equal(ea, eb)
}
