package bolt

import (
	"context"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// PutSilence stores a silence under its ID.
func (s *Store) PutSilence(ctx context.Context, sl patchwatch.Silence) error {
	data, err := json.Marshal(sl)
	if err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSilences).Put([]byte(sl.ID), data)
	})
}

// Silences returns every stored silence, expired ones included, by ID.
func (s *Store) Silences(ctx context.Context) ([]patchwatch.Silence, error) {
	var out []patchwatch.Silence
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSilences)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var sl patchwatch.Silence
			if err := json.Unmarshal(v, &sl); err != nil {
				return fmt.Errorf("decode silence %s: %w", k, err)
			}
			out = append(out, sl)
			return nil
		})
	})
	return out, err
}

// DeleteSilence removes a silence; store.ErrNotFound if there is none with id.
func (s *Store) DeleteSilence(ctx context.Context, id string) error {
	return s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSilences)
		if b.Get([]byte(id)) == nil {
			return fmt.Errorf("silence %s: %w", id, store.ErrNotFound)
		}
		return b.Delete([]byte(id))
	})
}
