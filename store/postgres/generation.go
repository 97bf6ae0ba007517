package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// advisoryWritten moves the advisory generation in tx, a write that
// changed the advisories: the counter row is locked until tx ends, so a
// reader sees the new generation only with the new advisories.
func advisoryWritten(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `UPDATE advisory_generation SET generation = generation + 1`); err != nil {
		return fmt.Errorf("count the advisory write: %w", err)
	}
	return nil
}

// AdvisoryGeneration returns a number that grows with every committed
// write of advisories (upserts that changed something, withdrawals), on
// any replica.
func (s *Store) AdvisoryGeneration(ctx context.Context) (uint64, error) {
	var gen int64
	if err := s.pool.QueryRow(ctx, `SELECT generation FROM advisory_generation`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("read the advisory generation: %w", err)
	}
	return uint64(gen), nil
}
