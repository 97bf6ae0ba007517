package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// PutHost stores a host with its latest inventory, indexed under every
// (release, package) in index.
func (s *Store) PutHost(ctx context.Context, h patchwatch.Host, index []store.ReleasePackage) error {
	if err := h.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode host %s: %w", h.Name, err)
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockKeys(ctx, tx, "host", []string{h.Name}); err != nil {
			return err
		}
		if err := putHostTx(ctx, tx, h.Name, data, index); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM host_records WHERE name = $1)`, h.Name).Scan(&exists); err != nil {
			return err
		}
		// A host stored without evaluation has no findings yet.
		if !exists {
			return putReadModelTx(ctx, tx, &h, nil, nil, time.Time{})
		}
		return nil
	})
}

// PutHosts stores many hosts in one transaction, as PutHost does each,
// without evaluating them, and flags the findings for a full
// re-evaluation (bulk loads).
func (s *Store) PutHosts(ctx context.Context, hosts []store.HostEntry) error {
	names := make([]string, len(hosts))
	data := make([][]byte, len(hosts))
	for i := range hosts {
		h := &hosts[i].Host
		if err := h.Validate(); err != nil {
			return err
		}
		names[i] = h.Name
		var err error
		if data[i], err = json.Marshal(h); err != nil {
			return fmt.Errorf("encode host %s: %w", h.Name, err)
		}
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockKeys(ctx, tx, "host", names); err != nil {
			return err
		}
		for i := range hosts {
			h := &hosts[i].Host
			if err := putHostTx(ctx, tx, h.Name, data[i], hosts[i].Index); err != nil {
				return err
			}
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM host_records WHERE name = $1)`, h.Name).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				if err := putReadModelTx(ctx, tx, h, nil, nil, time.Time{}); err != nil {
					return err
				}
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, keyEvaluation, []byte("hosts were loaded in bulk"))
		return err
	})
}

// putHostTx writes a host and, when its index set changed (a digest
// tells), the difference in its host index entries. The caller holds the
// host's lock.
func putHostTx(ctx context.Context, tx pgx.Tx, name string, data []byte, index []store.ReleasePackage) error {
	digest := store.IndexDigest(index)
	var old []byte
	err := tx.QueryRow(ctx, `SELECT index_digest FROM hosts WHERE name = $1`, name).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read host %s: %w", name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO hosts (name, index_digest, data) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET index_digest = excluded.index_digest, data = excluded.data`, name, digest, data); err != nil {
		return fmt.Errorf("store host %s: %w", name, err)
	}
	if bytes.Equal(old, digest) {
		return nil
	}
	releases, packages := splitPairs(index)
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM host_packages hp WHERE host = $1 AND NOT EXISTS (
		SELECT 1 FROM unnest($2::text[], $3::text[]) AS u(r, p) WHERE u.r = hp.release AND u.p = hp.package)`, name, releases, packages)
	b.Queue(`INSERT INTO host_packages (release, package, host)
		SELECT r, p, $1 FROM unnest($2::text[], $3::text[]) AS u(r, p) ORDER BY r COLLATE "C", p COLLATE "C" ON CONFLICT DO NOTHING`, name, releases, packages)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("index host %s: %w", name, err)
	}
	return nil
}

func splitPairs(pairs []store.ReleasePackage) (releases, packages []string) {
	releases, packages = make([]string, len(pairs)), make([]string, len(pairs))
	for i, rp := range pairs {
		releases[i], packages[i] = rp.Release, rp.Package
	}
	return releases, packages
}

// HostsWithPackages returns, in name order, the hosts indexed under any
// of the (release, package) pairs.
func (s *Store) HostsWithPackages(ctx context.Context, pairs []store.ReleasePackage) ([]string, error) {
	releases, packages := splitPairs(pairs)
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT hp.host FROM host_packages hp
		JOIN unnest($1::text[], $2::text[]) AS u(r, p) ON hp.release = u.r AND hp.package = u.p
		ORDER BY hp.host`, releases, packages)
	if err != nil {
		return nil, fmt.Errorf("read host index: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if out == nil {
		out = []string{}
	}
	return out, err
}

// Host returns one host; store.ErrNotFound if it is not stored.
func (s *Store) Host(ctx context.Context, name string) (patchwatch.Host, error) {
	return getJSON[patchwatch.Host](ctx, s.pool, "host "+name, `SELECT data FROM hosts WHERE name = $1`, name)
}

// Hosts returns every host in name order.
func (s *Store) Hosts(ctx context.Context) ([]patchwatch.Host, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, data FROM hosts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read hosts: %w", err)
	}
	return collectJSON[patchwatch.Host](rows, "host")
}

// HostsAfter returns up to limit hosts in name order past the host named
// after ("" for the first).
func (s *Store) HostsAfter(ctx context.Context, after string, limit int) ([]patchwatch.Host, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, data FROM hosts WHERE name > $1 ORDER BY name LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read hosts: %w", err)
	}
	return collectJSON[patchwatch.Host](rows, "host")
}

// CountHosts returns how many hosts are stored.
func (s *Store) CountHosts(ctx context.Context) (int, error) { return count(ctx, s, "hosts") }

// HostStates returns every host's state by name.
func (s *Store) HostStates(ctx context.Context) (map[string]store.HostState, error) {
	rows, err := s.pool.Query(ctx, `SELECT host, data FROM host_state`)
	if err != nil {
		return nil, fmt.Errorf("read host states: %w", err)
	}
	defer rows.Close()
	out := map[string]store.HostState{}
	for rows.Next() {
		var host string
		var data []byte
		if err := rows.Scan(&host, &data); err != nil {
			return nil, err
		}
		var st store.HostState
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("decode state of host %s: %w", host, err)
		}
		out[host] = st
	}
	return out, rows.Err()
}
