package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// ApplyReport stores a host's report and the change in its findings, the
// read models and the notification events in one transaction, holding
// the host's lock so that two replicas given reports of one host apply
// them in turn.
func (s *Store) ApplyReport(ctx context.Context, h patchwatch.Host, index []store.ReleasePackage, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode host %s: %w", h.Name, err)
	}
	var events []patchwatch.Event
	err = s.write(ctx, func(tx pgx.Tx) error {
		if err := lockKeys(ctx, tx, "host", []string{h.Name}); err != nil {
			return err
		}
		var prevChecks []byte
		err := tx.QueryRow(ctx, `SELECT data->'checks' FROM hosts WHERE name = $1`, h.Name).Scan(&prevChecks)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read host %s: %w", h.Name, err)
		}
		var prev []patchwatch.CheckResult
		if len(prevChecks) > 0 {
			if err := json.Unmarshal(prevChecks, &prev); err != nil {
				return fmt.Errorf("decode checks of host %s: %w", h.Name, err)
			}
		}
		if err := putHostTx(ctx, tx, h.Name, data, index); err != nil {
			return err
		}
		evs, err := syncFindingsTx(ctx, tx, h, findings, rebootRequired, now)
		if err != nil {
			return err
		}
		// A report without checks (a hand import) says nothing about them.
		if h.Checks != nil {
			checkEvents := patchwatch.CheckEvents(h.Name, prev, h.Checks, now)
			if err := queueEvents(ctx, tx, h.Owner, h.Project, checkEvents); err != nil {
				return err
			}
			evs = append(evs, checkEvents...)
		}
		events = evs
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply report of %s: %w", h.Name, err)
	}
	return events, nil
}

// SyncFindings reconciles a host's current findings with its stored
// records in one transaction, with its reboot state and read model.
func (s *Store) SyncFindings(ctx context.Context, h patchwatch.Host, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	var events []patchwatch.Event
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockKeys(ctx, tx, "host", []string{h.Name}); err != nil {
			return err
		}
		var err error
		events, err = syncFindingsTx(ctx, tx, h, findings, rebootRequired, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sync findings of %s: %w", h.Name, err)
	}
	return events, nil
}

// SyncBatch stores several hosts' re-evaluated findings in one
// transaction, skipping a host that reported since it was read (its
// record's report time differs) or is gone. The events of the changes
// are queued for the notifier.
func (s *Store) SyncBatch(ctx context.Context, batch []store.Evaluation, now time.Time) error {
	names := make([]string, len(batch))
	for i := range batch {
		names[i] = batch[i].Host.Name
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockKeys(ctx, tx, "host", names); err != nil {
			return err
		}
		reported := map[string]*time.Time{}
		rows, err := tx.Query(ctx, `SELECT h.name, r.data->>'reported_at' FROM hosts h
			LEFT JOIN host_records r ON r.name = h.name WHERE h.name = ANY($1)`, names)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var at *string
			if err := rows.Scan(&name, &at); err != nil {
				return err
			}
			reported[name] = nil
			if at != nil {
				var t time.Time
				if err := t.UnmarshalText([]byte(*at)); err != nil {
					return fmt.Errorf("decode report time of %s: %w", name, err)
				}
				reported[name] = &t
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range batch {
			ev := &batch[i]
			at, exists := reported[ev.Host.Name]
			if !exists || at != nil && !at.Equal(ev.Host.ReportedAt) {
				continue
			}
			if _, err := syncFindingsTx(ctx, tx, ev.Host, ev.Findings, ev.RebootRequired, now); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("sync findings: %w", err)
	}
	return nil
}

func syncFindingsTx(ctx context.Context, tx pgx.Tx, h patchwatch.Host, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error) {
	prev, err := hostRecordsTx(ctx, tx, h.Name)
	if err != nil {
		return nil, err
	}
	next, events := patchwatch.Reconcile(h.Name, h.Owner, prev, findings, now)
	if err := putRecords(ctx, tx, h.Name, next); err != nil {
		return nil, err
	}
	// The notifier's input is queued in the same transaction as the change.
	if err := queueEvents(ctx, tx, h.Owner, h.Project, events); err != nil {
		return nil, err
	}
	var st store.HostState
	var data []byte
	err = tx.QueryRow(ctx, `SELECT data FROM host_state WHERE host = $1`, h.Name).Scan(&data)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("read state of host %s: %w", h.Name, err)
	default:
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("decode state of host %s: %w", h.Name, err)
		}
	}
	switch {
	case rebootRequired && st.RebootRequiredSince.IsZero():
		st.RebootRequiredSince = now
	case !rebootRequired:
		st.RebootRequiredSince = time.Time{}
	}
	if data, err = json.Marshal(st); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO host_state (host, data) VALUES ($1, $2)
		ON CONFLICT (host) DO UPDATE SET data = excluded.data`, h.Name, data); err != nil {
		return nil, fmt.Errorf("store state of host %s: %w", h.Name, err)
	}
	return events, putReadModelTx(ctx, tx, &h, findings, next, st.RebootRequiredSince)
}

func hostRecordsTx(ctx context.Context, tx pgx.Tx, host string) ([]patchwatch.FindingRecord, error) {
	rows, err := tx.Query(ctx, `SELECT advisory, data FROM findings WHERE host = $1 ORDER BY advisory`, host)
	if err != nil {
		return nil, fmt.Errorf("read findings of %s: %w", host, err)
	}
	return collectJSON[patchwatch.FindingRecord](rows, "finding")
}

// putRecords writes finding records in one statement; a record that did
// not change is not rewritten.
func putRecords(ctx context.Context, tx pgx.Tx, host string, records []patchwatch.FindingRecord) error {
	if len(records) == 0 {
		return nil
	}
	advisories, data := make([]string, len(records)), make([]string, len(records))
	for i, r := range records {
		enc, err := json.Marshal(r)
		if err != nil {
			return err
		}
		advisories[i], data[i] = r.Advisory, string(enc)
	}
	_, err := tx.Exec(ctx, `INSERT INTO findings (host, advisory, data)
		SELECT $1, a, d FROM unnest($2::text[], $3::jsonb[]) AS u(a, d)
		ON CONFLICT (host, advisory) DO UPDATE SET data = excluded.data
		WHERE findings.data IS DISTINCT FROM excluded.data`, host, advisories, data)
	if err != nil {
		return fmt.Errorf("store findings of %s: %w", host, err)
	}
	return nil
}

// queueEvents appends events for the notifier; their sequence numbers
// come from the table's sequence, in the order given.
func queueEvents(ctx context.Context, tx pgx.Tx, owner, project string, events []patchwatch.Event) error {
	if len(events) == 0 {
		return nil
	}
	data := make([]string, len(events))
	for i, e := range events {
		enc, err := json.Marshal(patchwatch.NotifyEvent{Owner: owner, Project: project, Event: e})
		if err != nil {
			return err
		}
		data[i] = string(enc)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO notify_events (data) SELECT d FROM unnest($1::jsonb[]) WITH ORDINALITY AS u(d, n) ORDER BY n`, data); err != nil {
		return fmt.Errorf("queue events: %w", err)
	}
	return nil
}

// FindingRecords returns the stored finding records of one host, or of
// every host when host is empty, in (host, advisory) order.
func (s *Store) FindingRecords(ctx context.Context, host string) ([]patchwatch.FindingRecord, error) {
	var rows pgx.Rows
	var err error
	if host != "" {
		rows, err = s.pool.Query(ctx, `SELECT advisory, data FROM findings WHERE host = $1 ORDER BY advisory`, host)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT advisory, data FROM findings ORDER BY host, advisory`)
	}
	if err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	return collectJSON[patchwatch.FindingRecord](rows, "finding")
}

// ownerKey is the owner as the owner index compares it: case-insensitive,
// folded in Go so that it does not depend on the database's locale.
func ownerKey(owner string) string { return strings.ToLower(owner) }
