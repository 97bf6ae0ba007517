package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// bucketSessions maps the SHA-256 of a console session ID to its Session.
// It is created on first write rather than in migrate: sessions are
// disposable, so an older database needs no schema step for them, and
// readers treat a missing bucket as no sessions.
var bucketSessions = []byte("console_sessions")

// PutSession stores a session under the hash of its ID.
func (s *Store) PutSession(ctx context.Context, hash []byte, sess patchwatch.Session) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketSessions)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketSessions, err)
		}
		return b.Put(bytes.Clone(hash), data)
	})
}

// Session returns the session stored under hash, or an error wrapping
// store.ErrNotFound.
func (s *Store) Session(ctx context.Context, hash []byte) (patchwatch.Session, error) {
	var sess patchwatch.Session
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		sess, err = getSession(tx, hash)
		return err
	})
	return sess, err
}

func getSession(tx *bbolt.Tx, hash []byte) (patchwatch.Session, error) {
	var sess patchwatch.Session
	b := tx.Bucket(bucketSessions)
	if b == nil {
		return sess, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	v := b.Get(hash)
	if v == nil {
		return sess, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	return sess, json.Unmarshal(v, &sess)
}

// TakeSession returns the session stored under hash and removes it in the
// same transaction, so that a one-time link works once; an error wrapping
// ErrNotFound when there is none.
func (s *Store) TakeSession(ctx context.Context, hash []byte) (patchwatch.Session, error) {
	var sess patchwatch.Session
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		if sess, err = getSession(tx, hash); err != nil {
			return err
		}
		return tx.Bucket(bucketSessions).Delete(hash)
	})
	return sess, err
}

// DeleteSession removes one session; removing an unknown one is no error
// (signing out twice is harmless).
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return s.update(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketSessions); b != nil {
			return b.Delete(hash)
		}
		return nil
	})
}

// deleteTokenSessions removes, inside tx, the console sessions (and sign-in
// links) that stand on a token, when it is revoked.
func deleteTokenSessions(tx *bbolt.Tx, tokenID string) error {
	_, err := deleteSessionsWhere(tx, func(sess patchwatch.Session) bool { return sess.TokenID == tokenID })
	return err
}

// deleteSessionsWhere removes the sessions doomed picks, and the
// undecodable ones, and returns how many it removed.
func deleteSessionsWhere(tx *bbolt.Tx, doomed func(patchwatch.Session) bool) (int, error) {
	b := tx.Bucket(bucketSessions)
	if b == nil {
		return 0, nil
	}
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var sess patchwatch.Session
		if json.Unmarshal(v, &sess) != nil || doomed(sess) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// DeleteSessions removes the sessions that expired by now and those of
// the given token IDs (revoked tokens), and returns how many it removed.
func (s *Store) DeleteSessions(ctx context.Context, now time.Time, tokenIDs ...string) (int, error) {
	removed := 0
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		removed, err = deleteSessionsWhere(tx, func(sess patchwatch.Session) bool {
			return !sess.Active(now) || slices.Contains(tokenIDs, sess.TokenID)
		})
		return err
	})
	return removed, err
}
