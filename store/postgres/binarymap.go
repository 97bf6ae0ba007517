package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// The binary map (store/binarymap.go): binary_sources rows of (release,
// binary, source, tracks), read by binary and, through its second index,
// by source.

type pairKey struct{ release, binary, source string }

// mergePairs folds repeated pairs into one, untracked if any copy is.
func mergePairs(pairs []store.BinaryPair) []store.BinaryPair {
	seen := make(map[pairKey]int, len(pairs))
	var out []store.BinaryPair
	for _, p := range pairs {
		k := pairKey{p.Release, p.Binary, p.Source}
		if i, ok := seen[k]; ok {
			out[i].Tracks = out[i].Tracks && p.Tracks
			continue
		}
		seen[k] = len(out)
		out = append(out, p)
	}
	return out
}

func pairColumns(pairs []store.BinaryPair) (releases, binaries, sources []string, tracks []bool) {
	for _, p := range pairs {
		releases, binaries, sources, tracks = append(releases, p.Release), append(binaries, p.Binary), append(sources, p.Source), append(tracks, p.Tracks)
	}
	return
}

// learnPairs writes pairs into the map in one statement and returns the
// binaries whose pair is new and tracks. A pair once untracked stays so.
// Rows go in key order: hosts of one image learn the same pairs at once,
// and inserts of one order wait for each other instead of deadlocking.
func learnPairs(ctx context.Context, tx pgx.Tx, pairs []store.BinaryPair) ([]store.ReleasePackage, error) {
	pairs = mergePairs(pairs)
	if len(pairs) == 0 {
		return nil, nil
	}
	releases, binaries, sources, tracks := pairColumns(pairs)
	rows, err := tx.Query(ctx, `INSERT INTO binary_sources (release, binary_package, source, tracks)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[]) AS u(r, b, s, t)
		ORDER BY r COLLATE "C", b COLLATE "C", s COLLATE "C"
		ON CONFLICT (release, binary_package, source) DO UPDATE SET tracks = false
		WHERE binary_sources.tracks AND NOT excluded.tracks
		RETURNING release, binary_package, tracks, xmax = 0`, releases, binaries, sources, tracks)
	if err != nil {
		return nil, fmt.Errorf("learn binary sources: %w", err)
	}
	defer rows.Close()
	var fresh []store.ReleasePackage
	for rows.Next() {
		var release, binary string
		var tracks, inserted bool
		if err := rows.Scan(&release, &binary, &tracks, &inserted); err != nil {
			return nil, err
		}
		if inserted && tracks {
			fresh = append(fresh, store.ReleasePackage{Release: release, Package: binary})
		}
	}
	return fresh, rows.Err()
}

// LearnBinarySources adds what a host's inventory says about which source
// builds which binary, and returns the (release, binary) pairs newly
// learnt. Known pairs cost one read and no write.
func (s *Store) LearnBinarySources(ctx context.Context, h *patchwatch.Host) ([]store.ReleasePackage, error) {
	pairs := mergePairs(store.HostBinaryPairs(h))
	if len(pairs) == 0 {
		return nil, nil
	}
	releases, binaries, sources, tracks := pairColumns(pairs)
	// Only pairs that would change the map: unknown ones, and tracking
	// ones an inventory shows untracked.
	rows, err := s.pool.Query(ctx, `SELECT u.r, u.b, u.s, u.t FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[]) AS u(r, b, s, t)
		LEFT JOIN binary_sources m ON m.release = u.r AND m.binary_package = u.b AND m.source = u.s
		WHERE m.release IS NULL OR (m.tracks AND NOT u.t)`, releases, binaries, sources, tracks)
	if err != nil {
		return nil, fmt.Errorf("learn binary sources of %s: %w", h.Name, err)
	}
	var missing []store.BinaryPair
	for rows.Next() {
		var p store.BinaryPair
		if err := rows.Scan(&p.Release, &p.Binary, &p.Source, &p.Tracks); err != nil {
			rows.Close()
			return nil, err
		}
		missing = append(missing, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		return nil, nil
	}
	var fresh []store.ReleasePackage
	err = s.write(ctx, func(tx pgx.Tx) error {
		var err error
		fresh, err = learnPairs(ctx, tx, missing)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("learn binary sources of %s: %w", h.Name, err)
	}
	return fresh, nil
}

// BinarySources returns, for those of the binaries the map of release
// knows, the source packages that build them; untracked pairs are left out.
func (s *Store) BinarySources(ctx context.Context, release string, binaries []string) (tracking, untracked map[string][]string, err error) {
	rows, err := s.pool.Query(ctx, `SELECT binary_package, source, tracks FROM binary_sources
		WHERE release = $1 AND binary_package = ANY($2) ORDER BY binary_package, source`, release, binaries)
	if err != nil {
		return nil, nil, fmt.Errorf("read binary sources: %w", err)
	}
	defer rows.Close()
	tracking, untracked = map[string][]string{}, map[string][]string{}
	for rows.Next() {
		var bin, src string
		var tracks bool
		if err := rows.Scan(&bin, &src, &tracks); err != nil {
			return nil, nil, err
		}
		if tracks {
			tracking[bin] = append(tracking[bin], src)
		} else {
			untracked[bin] = append(untracked[bin], src)
		}
	}
	return tracking, untracked, rows.Err()
}

// BinariesBuilt returns, sorted and once each, the (release, binary) pairs
// the map knows for the given (release, source) pairs.
func (s *Store) BinariesBuilt(ctx context.Context, sources []store.ReleasePackage) ([]store.ReleasePackage, error) {
	releases, packages := splitPairs(sources)
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT m.release, m.binary_package FROM binary_sources m
		JOIN unnest($1::text[], $2::text[]) AS u(r, s) ON m.release = u.r AND m.source = u.s
		ORDER BY 1, 2`, releases, packages)
	if err != nil {
		return nil, fmt.Errorf("read binaries built: %w", err)
	}
	defer rows.Close()
	var out []store.ReleasePackage
	for rows.Next() {
		var rp store.ReleasePackage
		if err := rows.Scan(&rp.Release, &rp.Package); err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, rows.Err()
}
