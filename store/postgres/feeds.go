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

func putCursor(ctx context.Context, tx pgx.Tx, feed string, cursor []byte) error {
	if cursor == nil {
		cursor = []byte{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO cursors (feed, value) VALUES ($1, $2)
		ON CONFLICT (feed) DO UPDATE SET value = excluded.value`, feed, cursor)
	if err != nil {
		return fmt.Errorf("set cursor of %s: %w", feed, err)
	}
	return nil
}

// Cursor returns a feed's cursor, or nil when the feed never committed one.
func (s *Store) Cursor(ctx context.Context, feed string) ([]byte, error) {
	var out []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM cursors WHERE feed = $1`, feed).Scan(&out)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cursor of %s: %w", feed, err)
	}
	return out, nil
}

// ReplaceKEV stores a whole KEV catalog in place of the previous one
// (COPY into the emptied table), and sets the feed's cursor in the same
// transaction when feed is not empty.
func (s *Store) ReplaceKEV(ctx context.Context, entries []patchwatch.KEVEntry, feed string, cursor []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rows := make(map[string][]byte, len(entries))
	for _, e := range entries {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		rows[e.CVE] = data // the last of a repeated CVE wins, as in bbolt
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		// LOCK: a concurrent replace waits instead of interleaving.
		if _, err := tx.Exec(ctx, `LOCK TABLE kev IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM kev`); err != nil {
			return err
		}
		src := make([][]any, 0, len(rows))
		for cve, data := range rows {
			src = append(src, []any{cve, string(data)})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"kev"}, []string{"cve", "data"}, pgx.CopyFromRows(src)); err != nil {
			return fmt.Errorf("copy KEV: %w", err)
		}
		if feed != "" {
			return putCursor(ctx, tx, feed, cursor)
		}
		return nil
	})
}

// KEV returns the catalog entries of the given CVEs that are listed.
func (s *Store) KEV(ctx context.Context, cves []string) (map[string]patchwatch.KEVEntry, error) {
	out := map[string]patchwatch.KEVEntry{}
	rows, err := s.pool.Query(ctx, `SELECT cve, data FROM kev WHERE cve = ANY($1)`, cves)
	if err != nil {
		return nil, fmt.Errorf("read KEV: %w", err)
	}
	entries, err := collectJSON[patchwatch.KEVEntry](rows, "KEV entry")
	for _, e := range entries {
		out[e.CVE] = e
	}
	return out, err
}

// CountKEV returns how many KEV entries are stored.
func (s *Store) CountKEV(ctx context.Context) (int, error) { return count(ctx, s, "kev") }

// ReplaceUrgencies stores the tracker's urgencies in place of the previous
// set, and sets the feed's cursor in the same transaction when feed is set.
func (s *Store) ReplaceUrgencies(ctx context.Context, urgencies []patchwatch.CVEUrgency, feed string, cursor []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	type key struct{ release, pkg, cve string }
	rows := make(map[key]string, len(urgencies))
	for _, u := range urgencies {
		rows[key{u.Release, u.Package, u.CVE}] = u.Urgency
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE debian_urgency IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM debian_urgency`); err != nil {
			return err
		}
		src := make([][]any, 0, len(rows))
		for k, u := range rows {
			src = append(src, []any{k.release, k.pkg, k.cve, u})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"debian_urgency"}, []string{"release", "package", "cve", "urgency"}, pgx.CopyFromRows(src)); err != nil {
			return fmt.Errorf("copy urgencies: %w", err)
		}
		if feed != "" {
			return putCursor(ctx, tx, feed, cursor)
		}
		return nil
	})
}

// Urgencies returns the tracker's urgencies of a source package on a
// release, by CVE.
func (s *Store) Urgencies(ctx context.Context, release, pkg string) (map[string]string, error) {
	out := map[string]string{}
	rows, err := s.pool.Query(ctx, `SELECT cve, urgency FROM debian_urgency WHERE release = $1 AND package = $2`, release, pkg)
	if err != nil {
		return nil, fmt.Errorf("read urgencies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cve, u string
		if err := rows.Scan(&cve, &u); err != nil {
			return nil, err
		}
		out[cve] = u
	}
	return out, rows.Err()
}

// PutFeedStatus stores the status of one feed, replacing the previous one.
func (s *Store) PutFeedStatus(ctx context.Context, st patchwatch.FeedStatus) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode feed status %s: %w", st.Feed, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO feed_status (feed, data) VALUES ($1, $2)
		ON CONFLICT (feed) DO UPDATE SET data = excluded.data`, st.Feed, data)
	if err != nil {
		return fmt.Errorf("store feed status %s: %w", st.Feed, err)
	}
	return nil
}

// FeedStatuses returns the stored status of every feed, by feed name.
func (s *Store) FeedStatuses(ctx context.Context) ([]patchwatch.FeedStatus, error) {
	rows, err := s.pool.Query(ctx, `SELECT feed, data FROM feed_status ORDER BY feed`)
	if err != nil {
		return nil, fmt.Errorf("read feed status: %w", err)
	}
	return collectJSON[patchwatch.FeedStatus](rows, "feed status")
}

// SourceStats returns, per advisory source, how many advisories are
// stored and the newest publication time, computed by the database.
func (s *Store) SourceStats(ctx context.Context) (map[patchwatch.Source]store.SourceStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT data->>'source', count(*), max((data->>'published')::timestamptz) FROM advisories GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("read source stats: %w", err)
	}
	defer rows.Close()
	out := map[patchwatch.Source]store.SourceStats{}
	for rows.Next() {
		var src *string
		var newest *time.Time
		var n int
		if err := rows.Scan(&src, &n, &newest); err != nil {
			return nil, err
		}
		st := store.SourceStats{Advisories: n}
		if newest != nil && !newest.Equal(time.Time{}) {
			st.NewestPublished = newest.UTC()
		}
		var source patchwatch.Source
		if src != nil {
			source = patchwatch.Source(*src)
		}
		out[source] = st
	}
	return out, rows.Err()
}

// PutSilence stores a silence under its ID.
func (s *Store) PutSilence(ctx context.Context, sl patchwatch.Silence) error {
	data, err := json.Marshal(sl)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO silences (id, data) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`, sl.ID, data)
	if err != nil {
		return fmt.Errorf("store silence %s: %w", sl.ID, err)
	}
	return nil
}

// Silences returns every stored silence, expired ones included, by ID.
func (s *Store) Silences(ctx context.Context) ([]patchwatch.Silence, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, data FROM silences ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read silences: %w", err)
	}
	return collectJSON[patchwatch.Silence](rows, "silence")
}

// DeleteSilence removes a silence; store.ErrNotFound if there is none with id.
func (s *Store) DeleteSilence(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM silences WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete silence %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("silence %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// KEVStats returns how many KEV entries are stored and the newest date
// one was added to the catalog.
func (s *Store) KEVStats(ctx context.Context) (store.SourceStats, error) {
	var st store.SourceStats
	rows, err := s.pool.Query(ctx, `SELECT coalesce(data->>'date_added', '') FROM kev`)
	if err != nil {
		return st, fmt.Errorf("read KEV: %w", err)
	}
	added, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, d := range added {
		st.Advisories++
		// As in bbolt: a date the catalog spells otherwise is not counted as newest.
		if t, err := time.Parse(time.DateOnly, d); err == nil && t.After(st.NewestPublished) {
			st.NewestPublished = t
		}
	}
	return st, err
}
