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

// PendingEvents returns the finding events the notifier has not consumed,
// oldest first.
func (s *Store) PendingEvents(ctx context.Context) ([]patchwatch.NotifyEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, data FROM notify_events ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []patchwatch.NotifyEvent
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, err
		}
		var e patchwatch.NotifyEvent
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", seq, err)
		}
		e.Seq = uint64(seq)
		out = append(out, e)
	}
	return out, rows.Err()
}

// OldestPendingEvent returns the pending event queued first (false when
// none is pending).
func (s *Store) OldestPendingEvent(ctx context.Context) (patchwatch.NotifyEvent, bool, error) {
	var seq int64
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT seq, data FROM notify_events ORDER BY seq LIMIT 1`).Scan(&seq, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return patchwatch.NotifyEvent{}, false, nil
	}
	if err != nil {
		return patchwatch.NotifyEvent{}, false, fmt.Errorf("read the oldest event: %w", err)
	}
	var e patchwatch.NotifyEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return patchwatch.NotifyEvent{}, false, fmt.Errorf("decode event %d: %w", seq, err)
	}
	e.Seq = uint64(seq)
	return e, true, nil
}

// CommitNotify applies a notifier step in one transaction: events
// consumed, deliveries queued, findings marked notified, metadata set.
func (s *Store) CommitNotify(ctx context.Context, nb store.NotifyBatch) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if len(nb.Consumed) > 0 {
			seqs := make([]int64, len(nb.Consumed))
			for i, seq := range nb.Consumed {
				seqs[i] = int64(seq)
			}
			b.Queue(`DELETE FROM notify_events WHERE seq = ANY($1)`, seqs)
		}
		for _, d := range nb.Deliveries {
			if err := queueDelivery(b, d); err != nil {
				return err
			}
		}
		for k, t := range nb.Notified {
			at, _ := t.MarshalBinary()
			b.Queue(`INSERT INTO notified (host, advisory, at) VALUES ($1, $2, $3)
				ON CONFLICT (host, advisory) DO UPDATE SET at = excluded.at`, k[0], k[1], at)
		}
		for k, v := range nb.Meta {
			if v == nil {
				v = []byte{}
			}
			b.Queue(`INSERT INTO notify_meta (key, value) VALUES ($1, $2)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("commit notifier step: %w", err)
		}
		return nil
	})
}

func queueDelivery(b *pgx.Batch, d patchwatch.Delivery) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode delivery %s: %w", d.ID, err)
	}
	b.Queue(`INSERT INTO outbox (id, created_at, next_at, failed, data) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, next_at = excluded.next_at,
			failed = excluded.failed, data = excluded.data`, d.ID, d.CreatedAt, d.NextAt, d.Failed, data)
	return nil
}

// Notified returns when each (host, advisory) was last notified.
func (s *Store) Notified(ctx context.Context) (map[[2]string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT host, advisory, at FROM notified`)
	if err != nil {
		return nil, fmt.Errorf("read notified: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]time.Time{}
	for rows.Next() {
		var host, adv string
		var at []byte
		if err := rows.Scan(&host, &adv, &at); err != nil {
			return nil, err
		}
		var t time.Time
		if err := t.UnmarshalBinary(at); err != nil {
			return nil, fmt.Errorf("decode notified time of %s/%s: %w", host, adv, err)
		}
		out[[2]string{host, adv}] = t
	}
	return out, rows.Err()
}

// NotifyMeta returns a notifier metadata value, nil when unset.
func (s *Store) NotifyMeta(ctx context.Context, key string) ([]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT value FROM notify_meta WHERE key = $1`, key)
	if err != nil {
		return nil, fmt.Errorf("read notifier %s: %w", key, err)
	}
	vals, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil || len(vals) == 0 {
		return nil, err
	}
	return vals[0], nil
}

// Deliveries returns the outbox, oldest first.
func (s *Store) Deliveries(ctx context.Context) ([]patchwatch.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, data FROM outbox ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return collectJSON[patchwatch.Delivery](rows, "delivery")
}

// PutDelivery stores or updates one delivery.
func (s *Store) PutDelivery(ctx context.Context, d patchwatch.Delivery) error {
	b := &pgx.Batch{}
	if err := queueDelivery(b, d); err != nil {
		return err
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store delivery %s: %w", d.ID, err)
	}
	return nil
}

// DeleteDelivery removes a sent delivery.
func (s *Store) DeleteDelivery(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete delivery %s: %w", id, err)
	}
	return nil
}

// ClaimDeliveries claims up to limit deliveries due at now, not failed,
// on no channel in skipChannels and held by no live claim, until
// now+lease, and returns them as stored. Rows another replica is claiming
// at the same moment are skipped (FOR UPDATE SKIP LOCKED), and a claimed
// row is not claimed again until ReleaseDelivery or DeleteDelivery ends
// the claim or the lease runs out, so two replicas never send one
// delivery at once. A delivery returned with SendingAt set was being sent
// by a claimer whose lease lapsed (it died, or was cut off mid-send).
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, skipChannels []string, limit int) ([]patchwatch.Delivery, error) {
	if skipChannels == nil {
		skipChannels = []string{} // = ANY(NULL) would match no row
	}
	var out []patchwatch.Delivery
	err := s.write(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, data FROM outbox
			WHERE NOT failed AND next_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
				AND NOT (data->>'channel' = ANY($3))
			ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit, skipChannels)
		if err != nil {
			return err
		}
		due, err := collectJSON[patchwatch.Delivery](rows, "delivery")
		if err != nil || len(due) == 0 {
			return err
		}
		ids := make([]string, len(due))
		for i, d := range due {
			ids[i] = d.ID
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox SET claimed_until = $1 WHERE id = ANY($2)`, now.Add(lease), ids); err != nil {
			return err
		}
		out = due
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// ReleaseDelivery stores a claimed delivery's outcome (a retry later, a
// final failure, or unchanged when it was not sent) and ends its claim.
// PutDelivery, by contrast, keeps a claim: the claimer records there that
// a send started.
func (s *Store) ReleaseDelivery(ctx context.Context, d patchwatch.Delivery) error {
	b := &pgx.Batch{}
	if err := queueDelivery(b, d); err != nil {
		return err
	}
	b.Queue(`UPDATE outbox SET claimed_until = NULL WHERE id = $1`, d.ID)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("release delivery %s: %w", d.ID, err)
	}
	return nil
}
