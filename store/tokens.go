package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
)

// PutToken stores a token under the hash of its secret.
func (s *Store) PutToken(ctx context.Context, hash []byte, t patchwatch.Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTokens).Put(hash, data); err != nil {
			return err
		}
		return tx.Bucket(bucketTokenIDs).Put([]byte(t.ID), hash)
	})
}

// TokenByHash returns the token whose secret hashes to hash; ErrNotFound
// if there is none.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (patchwatch.Token, error) {
	var t patchwatch.Token
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get(hash)
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &t)
	})
	return t, err
}

// TokenByID returns a token and the hash of its secret; ErrNotFound if
// there is none with id.
func (s *Store) TokenByID(ctx context.Context, id string) (patchwatch.Token, []byte, error) {
	var t patchwatch.Token
	var hash []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketTokenIDs)
		if ids == nil {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		h := ids.Get([]byte(id))
		if h == nil {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		hash = bytes.Clone(h)
		return json.Unmarshal(tx.Bucket(bucketTokens).Get(h), &t)
	})
	return t, hash, err
}

// Tokens returns every token (never a secret).
func (s *Store) Tokens(ctx context.Context) ([]patchwatch.Token, error) {
	var out []patchwatch.Token
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var t patchwatch.Token
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b patchwatch.Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// RevokeToken marks a token revoked and ends the console sessions that
// stand on it; ErrNotFound if there is none with id.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		hash := tx.Bucket(bucketTokenIDs).Get([]byte(id))
		if hash == nil {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		b := tx.Bucket(bucketTokens)
		var t patchwatch.Token
		if err := json.Unmarshal(b.Get(hash), &t); err != nil {
			return err
		}
		t.Revoked = true
		data, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if err := b.Put(bytes.Clone(hash), data); err != nil {
			return err
		}
		return deleteTokenSessions(tx, id)
	})
}

// RevokeHostTokens revokes every host token of a host, so that a host
// that enrolls again holds one live token.
func (s *Store) RevokeHostTokens(ctx context.Context, host string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		type update struct{ k, v []byte }
		var updates []update
		err := b.ForEach(func(k, v []byte) error {
			var t patchwatch.Token
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			if t.Kind == patchwatch.TokenHost && t.Host == host && !t.Revoked {
				t.Revoked = true
				data, err := json.Marshal(t)
				if err != nil {
					return err
				}
				updates = append(updates, update{bytes.Clone(k), data})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range updates {
			if err := b.Put(u.k, u.v); err != nil {
				return err
			}
		}
		return nil
	})
}
