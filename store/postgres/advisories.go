package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// chunk bounds the rows of one statement or batch in a large commit.
const chunk = 1000

// UpsertAdvisories stores advisories in one transaction with the outcomes
// of bolt.Store.UpsertAdvisories.
func (s *Store) UpsertAdvisories(ctx context.Context, advisories []patchwatch.Advisory) ([]store.Outcome, error) {
	return s.CommitFeed(ctx, "", advisories, nil)
}

// storedAdvisory is what an upsert reads of the stored copy.
type storedAdvisory struct {
	digest   []byte
	modified time.Time
}

// CommitFeed upserts advisories and sets the feed's cursor in the same
// transaction (an empty feed name leaves cursors alone): a new ID is
// inserted, a later modified time replaces the stored copy, an identical
// copy changes nothing, an older copy is kept out as stale. The IDs are
// locked first, so concurrent commits of one advisory decide in turn.
func (s *Store) CommitFeed(ctx context.Context, feed string, advisories []patchwatch.Advisory, cursor []byte) ([]store.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type encoded struct {
		a      patchwatch.Advisory
		data   []byte
		digest []byte
	}
	enc := make([]encoded, len(advisories))
	ids := make([]string, len(advisories))
	for i, a := range advisories {
		a.Normalize()
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("store advisory %s: %w", a.ID, err)
		}
		data, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encode advisory %s: %w", a.ID, err)
		}
		sum := sha256.Sum256(data)
		enc[i] = encoded{a, data, sum[:]}
		ids[i] = a.ID
	}
	outcomes := make([]store.Outcome, len(advisories))
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockKeys(ctx, tx, "advisory", ids); err != nil {
			return err
		}
		stored, err := storedAdvisories(ctx, tx, ids)
		if err != nil {
			return err
		}
		var pairs []store.BinaryPair
		batch := &pgx.Batch{}
		for i := range enc {
			e := &enc[i]
			prev, ok := stored[e.a.ID]
			switch {
			case !ok:
				outcomes[i] = store.Inserted
			case bytes.Equal(prev.digest, e.digest):
				outcomes[i] = store.Unchanged
				continue
			case e.a.Modified.Before(prev.modified):
				outcomes[i] = store.Stale
				continue
			default:
				outcomes[i] = store.Updated
			}
			// Later entries of the same ID in this commit see this one.
			stored[e.a.ID] = storedAdvisory{e.digest, e.a.Modified}
			batch.Queue(`INSERT INTO advisories (id, digest, data) VALUES ($1, $2, $3)
				ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, data = excluded.data`, e.a.ID, e.digest, e.data)
			batch.Queue(`DELETE FROM fixes WHERE advisory = $1`, e.a.ID)
			var releases, packages []string
			for _, f := range e.a.Fixes {
				releases, packages = append(releases, f.Release), append(packages, f.Package)
			}
			batch.Queue(`INSERT INTO fixes (release, package, advisory)
				SELECT r, p, $3 FROM unnest($1::text[], $2::text[]) AS u(r, p) ON CONFLICT DO NOTHING`, releases, packages, e.a.ID)
			pairs = append(pairs, store.AdvisoryBinaryPairs(&e.a)...)
			if batch.Len() >= chunk {
				if err := tx.SendBatch(ctx, batch).Close(); err != nil {
					return err
				}
				batch = &pgx.Batch{}
			}
		}
		if batch.Len() > 0 {
			if err := tx.SendBatch(ctx, batch).Close(); err != nil {
				return err
			}
		}
		if _, err := learnPairs(ctx, tx, pairs); err != nil {
			return err
		}
		if slices.ContainsFunc(outcomes, func(o store.Outcome) bool { return o == store.Inserted || o == store.Updated }) {
			if err := advisoryWritten(ctx, tx); err != nil {
				return err
			}
		}
		if feed != "" && cursor != nil {
			return putCursor(ctx, tx, feed, cursor)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store advisories: %w", err)
	}
	return outcomes, nil
}

func storedAdvisories(ctx context.Context, tx pgx.Tx, ids []string) (map[string]storedAdvisory, error) {
	out := make(map[string]storedAdvisory, len(ids))
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		rows, err := tx.Query(ctx, `SELECT id, digest, data->>'modified' FROM advisories WHERE id = ANY($1)`, part)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var digest []byte
			var modified *string
			if err := rows.Scan(&id, &digest, &modified); err != nil {
				return nil, err
			}
			st := storedAdvisory{digest: digest}
			if modified != nil {
				if err := st.modified.UnmarshalText([]byte(*modified)); err != nil {
					return nil, fmt.Errorf("decode modified time of advisory %s: %w", id, err)
				}
			}
			out[id] = st
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Advisory returns one advisory; store.ErrNotFound if it is not stored.
func (s *Store) Advisory(ctx context.Context, id string) (patchwatch.Advisory, error) {
	return getJSON[patchwatch.Advisory](ctx, s.pool, "advisory "+id, `SELECT data FROM advisories WHERE id = $1`, id)
}

// getJSON reads the one jsonb value sql selects; what names it in errors,
// which wrap store.ErrNotFound when there is no row.
func getJSON[T any](ctx context.Context, db queryRower, what, sql string, args ...any) (T, error) {
	var v T
	var data []byte
	err := db.QueryRow(ctx, sql, args...).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("read %s: %w", what, err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

// EachAdvisory calls fn for every advisory in ID order, reading pages so
// that fn may call the store; fn's error stops the walk and is returned.
func (s *Store) EachAdvisory(ctx context.Context, fn func(patchwatch.Advisory) error) error {
	after := ""
	for {
		var page []patchwatch.Advisory
		rows, err := s.pool.Query(ctx, `SELECT id, data FROM advisories WHERE id > $1 ORDER BY id LIMIT $2`, after, chunk)
		if err != nil {
			return fmt.Errorf("read advisories: %w", err)
		}
		for rows.Next() {
			var id string
			var data []byte
			if err := rows.Scan(&id, &data); err != nil {
				return err
			}
			var a patchwatch.Advisory
			if err := json.Unmarshal(data, &a); err != nil {
				rows.Close()
				return fmt.Errorf("decode advisory %s: %w", id, err)
			}
			page = append(page, a)
			after = id
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read advisories: %w", err)
		}
		for _, a := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(page) < chunk {
			return nil
		}
	}
}

// CountAdvisories returns how many advisories are stored.
func (s *Store) CountAdvisories(ctx context.Context) (int, error) {
	return count(ctx, s, "advisories")
}

func count(ctx context.Context, s *Store, table string) (int, error) {
	var n int
	// table is one of this package's constants, never input.
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

// AdvisoriesFor returns the advisories with a fix for any of the packages
// on release, through the fix index, in ID order.
func (s *Store) AdvisoriesFor(ctx context.Context, release string, packages []string) ([]patchwatch.Advisory, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.id, a.data FROM advisories a
		WHERE a.id IN (SELECT advisory FROM fixes WHERE release = $1 AND package = ANY($2))
		ORDER BY a.id`, release, packages)
	if err != nil {
		return nil, fmt.Errorf("read advisories for %s: %w", release, err)
	}
	return collectJSON[patchwatch.Advisory](rows, "advisory")
}

// collectJSON decodes rows of (key, jsonb) into values.
func collectJSON[T any](rows pgx.Rows, what string) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", what, key, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// HasRelease reports whether any stored advisory fixes a package on release.
func (s *Store) HasRelease(ctx context.Context, release string) (bool, error) {
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fixes WHERE release = $1)`, release).Scan(&found)
	return found, err
}

// Releases returns, in order, the releases on which any stored advisory
// fixes a package (a loose index scan: one probe per release).
func (s *Store) Releases(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE r AS (
			(SELECT release FROM fixes ORDER BY release LIMIT 1)
			UNION ALL
			SELECT (SELECT f.release FROM fixes f WHERE f.release > r.release ORDER BY f.release LIMIT 1)
			FROM r WHERE r.release IS NOT NULL)
		SELECT release FROM r WHERE release IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read releases: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
