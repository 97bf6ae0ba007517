package bolt

// An internal test: it writes the version-5 layout by hand, which the
// exported API can no longer produce.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
)

func TestMigrateEnrollmentsFromVersion5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tokens := []patchwatch.Token{
		{ID: "tok-old", Kind: patchwatch.TokenHost, Host: "vm1", Owner: "alice@example.org", Project: "research", Note: "enrolled with tok-e1", CreatedAt: at, Revoked: true},
		{ID: "tok-live", Kind: patchwatch.TokenHost, Host: "vm1", Owner: "alice@example.org", Project: "research", Note: "enrolled with tok-e1", CreatedAt: at.Add(time.Hour)},
		{ID: "tok-e1", Kind: patchwatch.TokenEnroll, Owner: "alice@example.org", Project: "research", CreatedAt: at},
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketHostTokens, bucketEnrollments} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		for _, tk := range tokens {
			data, _ := json.Marshal(tk)
			hash := []byte("hash-" + tk.ID)
			if err := tx.Bucket(bucketTokens).Put(hash, data); err != nil {
				return err
			}
			if err := tx.Bucket(bucketTokenIDs).Put([]byte(tk.ID), hash); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, 5))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	claim, err := s.Enrollment(ctx, "vm1")
	if err != nil || claim.Owner != "alice@example.org" || claim.Project != "research" || claim.EnrollToken != "tok-e1" {
		t.Fatalf("migrated claim = %+v, %v", claim, err)
	}
	var indexed []string
	s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketHostTokens).ForEach(func(k, _ []byte) error { indexed = append(indexed, string(k)); return nil })
	})
	if len(indexed) != 1 || indexed[0] != "vm1\x00tok-live" {
		t.Fatalf("index = %q, want the one live host token", indexed)
	}
	if err := s.RevokeHostTokens(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	if tk, _, _ := s.TokenByID(ctx, "tok-live"); !tk.Revoked {
		t.Error("the migrated index did not reach the live token")
	}
}
