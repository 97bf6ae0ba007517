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

// WithdrawAdvisories removes advisories their source withdrew, with their
// fix index entries, and resolves the open findings they caused as
// withdrawn (queueing the resolved events), setting the feed's cursor in
// the same transaction when feed is not empty. IDs not stored, or stored
// with a modified time after the withdrawal, are left alone. It returns
// the removed advisories.
func (s *Store) WithdrawAdvisories(ctx context.Context, feed string, withdrawals []store.Withdrawal, cursor []byte, now time.Time) ([]patchwatch.Advisory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids := make([]string, len(withdrawals))
	for i, w := range withdrawals {
		ids[i] = w.ID
	}
	var removed []patchwatch.Advisory
	err := s.write(ctx, func(tx pgx.Tx) error {
		removed = nil
		if err := lockKeys(ctx, tx, "advisory", ids); err != nil {
			return err
		}
		for _, w := range withdrawals {
			a, ok, err := withdraw(ctx, tx, w, now)
			if err != nil {
				return fmt.Errorf("withdraw advisory %s: %w", w.ID, err)
			}
			if ok {
				removed = append(removed, a)
			}
		}
		if len(removed) > 0 {
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
		return nil, err
	}
	return removed, nil
}

func withdraw(ctx context.Context, tx pgx.Tx, w store.Withdrawal, now time.Time) (patchwatch.Advisory, bool, error) {
	var a patchwatch.Advisory
	var data []byte
	err := tx.QueryRow(ctx, `SELECT data FROM advisories WHERE id = $1`, w.ID).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, err
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return a, false, fmt.Errorf("decode: %w", err)
	}
	if !w.At.IsZero() && a.Modified.After(w.At) {
		return patchwatch.Advisory{}, false, nil
	}
	// The hosts a finding can be on: those indexed under a fix, and (for
	// binary-only hosts) those with an open finding of the advisory.
	releases, packages := make([]string, len(a.Fixes)), make([]string, len(a.Fixes))
	for i, f := range a.Fixes {
		releases[i], packages[i] = f.Release, f.Package
	}
	rows, err := tx.Query(ctx, `SELECT hp.host FROM host_packages hp
			JOIN unnest($1::text[], $2::text[]) AS u(r, p) ON hp.release = u.r AND hp.package = u.p
		UNION SELECT host FROM finding_details WHERE advisory = $3
		ORDER BY 1`, releases, packages, a.ID)
	if err != nil {
		return a, false, err
	}
	hosts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return a, false, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM advisories WHERE id = $1`, a.ID); err != nil {
		return a, false, err
	}
	if err := lockKeys(ctx, tx, "host", hosts); err != nil {
		return a, false, err
	}
	for _, host := range hosts {
		if err := resolveWithdrawn(ctx, tx, host, a.ID, now); err != nil {
			return a, false, err
		}
	}
	return a, true, nil
}

// resolveWithdrawn closes a host's open finding of the advisory, if any,
// and takes it out of the read models.
func resolveWithdrawn(ctx context.Context, tx pgx.Tx, host, advisory string, now time.Time) error {
	var data []byte
	err := tx.QueryRow(ctx, `SELECT data FROM findings WHERE host = $1 AND advisory = $2`, host, advisory).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var r patchwatch.FindingRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("decode finding %s/%s: %w", host, advisory, err)
	}
	if !r.Open() {
		return nil
	}
	r.ResolvedAt, r.ResolvedBy = now, store.ResolvedWithdrawn
	if err := putRecords(ctx, tx, host, []patchwatch.FindingRecord{r}); err != nil {
		return err
	}
	if err := dropFromReadModelTx(ctx, tx, host, advisory); err != nil {
		return err
	}
	var project *string
	err = tx.QueryRow(ctx, `SELECT data->>'project' FROM hosts WHERE name = $1`, host).Scan(&project)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	p := ""
	if project != nil {
		p = *project
	}
	return queueEvents(ctx, tx, r.Owner, p, []patchwatch.Event{
		{Kind: patchwatch.EventResolved, Host: host, Advisory: advisory, Urgency: r.Urgency, At: now},
	})
}

// dropFromReadModelTx takes one resolved finding out of a host's record
// and details.
func dropFromReadModelTx(ctx context.Context, tx pgx.Tx, host, advisory string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM finding_details WHERE host = $1 AND advisory = $2`, host, advisory); err != nil {
		return err
	}
	var data []byte
	err := tx.QueryRow(ctx, `SELECT data FROM host_records WHERE name = $1`, host).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var rec patchwatch.HostRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("decode record of host %s: %w", host, err)
	}
	kept := rec.Findings[:0]
	for _, b := range rec.Findings {
		if b.Advisory != advisory {
			kept = append(kept, b)
		}
	}
	rec.Findings = kept
	if data, err = json.Marshal(rec); err != nil {
		return fmt.Errorf("encode record of host %s: %w", host, err)
	}
	_, err = tx.Exec(ctx, `UPDATE host_records SET data = $2 WHERE name = $1`, host, data)
	return err
}
