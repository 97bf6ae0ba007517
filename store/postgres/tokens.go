package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// executor is a pool or a transaction.
type executor interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// PutToken stores a token under the hash of its secret.
func (s *Store) PutToken(ctx context.Context, hash []byte, t patchwatch.Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return putToken(ctx, s.pool, hash, t)
}

func putToken(ctx context.Context, db executor, hash []byte, t patchwatch.Token) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO tokens (id, hash, kind, host, revoked, data) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, kind = excluded.kind, host = excluded.host,
			revoked = excluded.revoked, data = excluded.data`, t.ID, hash, string(t.Kind), t.Host, t.Revoked, data)
	if err != nil {
		return fmt.Errorf("store token %s: %w", t.ID, err)
	}
	return nil
}

// TokenByHash returns the token whose secret hashes to hash;
// store.ErrNotFound if there is none.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (patchwatch.Token, error) {
	return getJSON[patchwatch.Token](ctx, s.pool, "token", `SELECT data FROM tokens WHERE hash = $1`, hash)
}

// TokenByID returns a token and the hash of its secret; store.ErrNotFound
// if there is none with id.
func (s *Store) TokenByID(ctx context.Context, id string) (patchwatch.Token, []byte, error) {
	return tokenByID(ctx, s.pool, id, "")
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tokenByID reads a token; suffix "FOR UPDATE" locks its row.
func tokenByID(ctx context.Context, db queryRower, id, suffix string) (patchwatch.Token, []byte, error) {
	var t patchwatch.Token
	var hash, data []byte
	err := db.QueryRow(ctx, `SELECT hash, data FROM tokens WHERE id = $1 `+suffix, id).Scan(&hash, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, nil, fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return t, nil, fmt.Errorf("read token %s: %w", id, err)
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return t, nil, fmt.Errorf("decode token %s: %w", id, err)
	}
	return t, hash, nil
}

// Tokens returns every token (never a secret), oldest first.
func (s *Store) Tokens(ctx context.Context) ([]patchwatch.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, data FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	out, err := collectJSON[patchwatch.Token](rows, "token")
	slices.SortStableFunc(out, func(a, b patchwatch.Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// RevokeToken marks a token revoked and ends the console sessions that
// stand on it; store.ErrNotFound if there is none with id.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.write(ctx, func(tx pgx.Tx) error { return revokeToken(ctx, tx, id) })
}

func revokeToken(ctx context.Context, tx pgx.Tx, id string) error {
	t, hash, err := tokenByID(ctx, tx, id, "FOR UPDATE")
	if err != nil {
		return err
	}
	t.Revoked = true
	if err := putToken(ctx, tx, hash, t); err != nil {
		return err
	}
	return deleteTokenSessions(ctx, tx, id)
}

// RevokeHostTokens revokes every live host token of a host, through the
// partial index of live host tokens.
func (s *Store) RevokeHostTokens(ctx context.Context, host string) error {
	return s.write(ctx, func(tx pgx.Tx) error { return revokeHostTokens(ctx, tx, host) })
}

func revokeHostTokens(ctx context.Context, tx pgx.Tx, host string) error {
	// jsonb_set keeps the record's other fields as they are.
	_, err := tx.Exec(ctx, `UPDATE tokens SET revoked = true, data = jsonb_set(data, '{revoked}', 'true')
		WHERE host = $1 AND kind = 'host' AND NOT revoked`, host)
	if err != nil {
		return fmt.Errorf("revoke host tokens of %s: %w", host, err)
	}
	return nil
}

// Enroll claims a host on its first enrollment or re-enrolls it, with the
// rules and errors of bolt.Store.Enroll (store.DecideEnroll), in one
// transaction holding the enrolling token's row lock and the host's lock:
// two replicas spending the last use of a token, or enrolling one host,
// decide in turn.
func (s *Store) Enroll(ctx context.Context, e store.Enroll) (patchwatch.Enrollment, patchwatch.Token, error) {
	var claim patchwatch.Enrollment
	var host patchwatch.Token
	err := s.write(ctx, func(tx pgx.Tx) error {
		by, byHash, err := tokenByID(ctx, tx, e.By.ID, "FOR UPDATE")
		if err != nil {
			return err
		}
		if err := lockKeys(ctx, tx, "host", []string{e.Host}); err != nil {
			return err
		}
		var prev patchwatch.Enrollment
		found := false
		var data []byte
		err = tx.QueryRow(ctx, `SELECT data FROM enrollments WHERE host = $1`, e.Host).Scan(&data)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read enrollment of %s: %w", e.Host, err)
		default:
			if err := json.Unmarshal(data, &prev); err != nil {
				return fmt.Errorf("decode enrollment of %s: %w", e.Host, err)
			}
			found = true
		}
		var stored patchwatch.Host
		if !found {
			var owner, project *string
			err := tx.QueryRow(ctx, `SELECT data->>'owner', data->>'project' FROM hosts WHERE name = $1`, e.Host).Scan(&owner, &project)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("read host %s: %w", e.Host, err)
			}
			if owner != nil {
				stored.Owner = *owner
			}
			if project != nil {
				stored.Project = *project
			}
		}
		next, by, token, err := store.DecideEnroll(e, by, prev, found, stored)
		if err != nil {
			return err
		}
		if by.Kind == patchwatch.TokenEnroll {
			if err := putToken(ctx, tx, byHash, by); err != nil {
				return err
			}
		}
		if err := revokeHostTokens(ctx, tx, e.Host); err != nil {
			return err
		}
		if err := putToken(ctx, tx, e.HostTokenHash, token); err != nil {
			return err
		}
		if data, err = json.Marshal(next); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO enrollments (host, data) VALUES ($1, $2)
			ON CONFLICT (host) DO UPDATE SET data = excluded.data`, e.Host, data); err != nil {
			return fmt.Errorf("store enrollment of %s: %w", e.Host, err)
		}
		claim, host = next, token
		return nil
	})
	if err != nil {
		return patchwatch.Enrollment{}, patchwatch.Token{}, err
	}
	return claim, host, nil
}

// Enrollment returns a host's claim; store.ErrNotFound if it was never
// enrolled.
func (s *Store) Enrollment(ctx context.Context, host string) (patchwatch.Enrollment, error) {
	return getJSON[patchwatch.Enrollment](ctx, s.pool, "enrollment of "+host, `SELECT data FROM enrollments WHERE host = $1`, host)
}

// RemoveHost deletes a host, resolving its open findings as
// "host-removed", releasing its enrollment and revoking its host tokens;
// store.ErrNotFound if it is neither stored nor enrolled.
func (s *Store) RemoveHost(ctx context.Context, name string, now time.Time) ([]patchwatch.Event, error) {
	var events []patchwatch.Event
	err := s.write(ctx, func(tx pgx.Tx) error {
		events = nil
		if err := lockKeys(ctx, tx, "host", []string{name}); err != nil {
			return err
		}
		var exists, enrolled bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM hosts WHERE name = $1),
			EXISTS (SELECT 1 FROM enrollments WHERE host = $1)`, name).Scan(&exists, &enrolled); err != nil {
			return err
		}
		if !exists && !enrolled {
			return fmt.Errorf("host %s: %w", name, store.ErrNotFound)
		}
		if exists {
			prev, err := hostRecordsTx(ctx, tx, name)
			if err != nil {
				return err
			}
			next, evs := patchwatch.ResolveHost(prev, now)
			if err := putRecords(ctx, tx, name, next); err != nil {
				return err
			}
			events = evs
		}
		b := &pgx.Batch{}
		for _, q := range []string{
			`DELETE FROM finding_details WHERE host = $1`,
			`DELETE FROM host_records WHERE name = $1`,
			`DELETE FROM host_packages WHERE host = $1`,
			`DELETE FROM host_state WHERE host = $1`,
			`DELETE FROM enrollments WHERE host = $1`,
			`DELETE FROM hosts WHERE name = $1`,
		} {
			b.Queue(q, name)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("remove host %s: %w", name, err)
		}
		return revokeHostTokens(ctx, tx, name)
	})
	return events, err
}
