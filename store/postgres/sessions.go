package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// PutSession stores a console session under the hash of its ID.
func (s *Store) PutSession(ctx context.Context, hash []byte, sess patchwatch.Session) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO console_sessions (hash, token_id, expires, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (hash) DO UPDATE SET token_id = excluded.token_id, expires = excluded.expires, data = excluded.data`,
		hash, sess.TokenID, sess.Expires, data)
	if err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	return nil
}

// Session returns the session stored under hash, or an error wrapping
// store.ErrNotFound.
func (s *Store) Session(ctx context.Context, hash []byte) (patchwatch.Session, error) {
	return scanSession(s.pool.QueryRow(ctx, `SELECT data FROM console_sessions WHERE hash = $1`, hash))
}

// TakeSession returns the session stored under hash and removes it in the
// same statement, so that a one-time link works once, even with several
// replicas; an error wrapping store.ErrNotFound when there is none.
func (s *Store) TakeSession(ctx context.Context, hash []byte) (patchwatch.Session, error) {
	return scanSession(s.pool.QueryRow(ctx, `DELETE FROM console_sessions WHERE hash = $1 RETURNING data`, hash))
}

func scanSession(row pgx.Row) (patchwatch.Session, error) {
	var sess patchwatch.Session
	var data []byte
	if err := row.Scan(&data); errors.Is(err, pgx.ErrNoRows) {
		return sess, fmt.Errorf("session: %w", store.ErrNotFound)
	} else if err != nil {
		return sess, fmt.Errorf("read session: %w", err)
	}
	return sess, json.Unmarshal(data, &sess)
}

// DeleteSession removes one session; removing an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteSessions removes the sessions that expired by now and those of the
// given token IDs (revoked tokens), and returns how many it removed.
func (s *Store) DeleteSessions(ctx context.Context, now time.Time, tokenIDs ...string) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE expires <= $1 OR token_id = ANY($2)`, now, tokenIDs)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// deleteTokenSessions ends, inside tx, the sessions that stand on a token.
func deleteTokenSessions(ctx context.Context, tx pgx.Tx, tokenID string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE token_id = $1`, tokenID); err != nil {
		return fmt.Errorf("end the sessions of token %s: %w", tokenID, err)
	}
	return nil
}
