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

// The read models, as in store: host_records (summary and open-finding
// briefs, with the owner folded for the owner index) and finding_details
// (open findings, indexed by advisory too), rewritten in the transaction
// that changes a host's findings.

// putReadModelTx rewrites a host's record and finding details from its
// evaluated findings; records give the first-seen times.
func putReadModelTx(ctx context.Context, tx pgx.Tx, h *patchwatch.Host, findings []patchwatch.Finding, records []patchwatch.FindingRecord, rebootSince time.Time) error {
	rec := patchwatch.NewHostRecord(h, findings, records, rebootSince)
	advisories, details := make([]string, len(findings)), make([]string, len(findings))
	for i := range findings {
		f := &findings[i]
		data, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("encode finding %s on %s: %w", f.Advisory, h.Name, err)
		}
		advisories[i], details[i] = f.Advisory, string(data)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode record of host %s: %w", h.Name, err)
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM finding_details WHERE host = $1 AND advisory <> ALL($2::text[])`, h.Name, advisories)
	b.Queue(`INSERT INTO finding_details (host, advisory, data)
		SELECT $1, a, d FROM unnest($2::text[], $3::jsonb[]) AS u(a, d)
		ON CONFLICT (host, advisory) DO UPDATE SET data = excluded.data
		WHERE finding_details.data IS DISTINCT FROM excluded.data`, h.Name, advisories, details)
	b.Queue(`INSERT INTO host_records (name, owner_lower, data) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner_lower = excluded.owner_lower, data = excluded.data`, h.Name, ownerKey(h.Owner), data)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store read model of %s: %w", h.Name, err)
	}
	return nil
}

// HostRecord returns one host's read model; store.ErrNotFound if it is
// not stored.
func (s *Store) HostRecord(ctx context.Context, name string) (patchwatch.HostRecord, error) {
	return getJSON[patchwatch.HostRecord](ctx, s.pool, "host "+name, `SELECT data FROM host_records WHERE name = $1`, name)
}

// recordPage is how many host records a walk reads at a time.
const recordPage = 500

// EachHostRecord calls fn for the records of every host in name order,
// or of one owner's (case-insensitive), past the host named after. It
// reads pages, each its own statement, so fn may call the store and a
// slow consumer holds no connection; fn's error stops the walk,
// store.ErrStop quietly.
func (s *Store) EachHostRecord(ctx context.Context, owner, after string, fn func(*patchwatch.HostRecord) error) error {
	for {
		var page []patchwatch.HostRecord
		var stop bool
		var err error
		if owner == "" {
			page, stop, err = s.visitRecords(ctx, fn, `SELECT name, data FROM host_records WHERE name > $1 ORDER BY name LIMIT $2`, after, recordPage)
		} else {
			page, stop, err = s.visitRecords(ctx, fn, `SELECT name, data FROM host_records WHERE owner_lower = $3 AND name > $1 ORDER BY name LIMIT $2`, after, recordPage, ownerKey(owner))
		}
		if stop || err != nil || len(page) < recordPage {
			return err
		}
		after = page[len(page)-1].Name
	}
}

// EachHostRecordOf calls fn for the records of the named hosts (in name
// order, as given), skipping those not stored. It reads them recordPage
// names at a time, each page its own statement, as EachHostRecord does;
// fn's error stops it, store.ErrStop quietly.
func (s *Store) EachHostRecordOf(ctx context.Context, names []string, fn func(*patchwatch.HostRecord) error) error {
	for start := 0; start < len(names); start += recordPage {
		_, stop, err := s.visitRecords(ctx, fn, `SELECT name, data FROM host_records WHERE name = ANY($1) ORDER BY name`, names[start:min(start+recordPage, len(names))])
		if stop || err != nil {
			return err
		}
	}
	return nil
}

// visitRecords reads one page of host records (a query of name and data)
// and calls fn with each. stop is true when the walk ends here: fn
// returned store.ErrStop (reported as no error), or something failed.
func (s *Store) visitRecords(ctx context.Context, fn func(*patchwatch.HostRecord) error, query string, args ...any) (page []patchwatch.HostRecord, stop bool, err error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, true, fmt.Errorf("read host records: %w", err)
	}
	if page, err = collectJSON[patchwatch.HostRecord](rows, "record of host"); err != nil {
		return nil, true, err
	}
	for i := range page {
		if err := ctx.Err(); err != nil {
			return nil, true, err
		}
		if err := fn(&page[i]); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil, true, nil
			}
			return nil, true, err
		}
	}
	return page, false, nil
}

// HostsWithAdvisories returns, in name order, the hosts on which any of
// the advisories ids has an open finding.
func (s *Store) HostsWithAdvisories(ctx context.Context, ids []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT host FROM finding_details WHERE advisory = ANY($1::text[]) ORDER BY host`, ids)
	if err != nil {
		return nil, fmt.Errorf("read hosts of %d advisories: %w", len(ids), err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// FindingDetails returns the stored details of the named open findings
// in the order asked; a finding resolved since is left out.
func (s *Store) FindingDetails(ctx context.Context, keys []store.HostAdvisory) ([]patchwatch.Finding, error) {
	hosts, advisories := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		hosts[i], advisories[i] = k.Host, k.Advisory
	}
	rows, err := s.pool.Query(ctx, `SELECT d.advisory, d.data FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(h, a, n)
		JOIN finding_details d ON d.host = k.h AND d.advisory = k.a ORDER BY k.n`, hosts, advisories)
	if err != nil {
		return nil, fmt.Errorf("read finding details: %w", err)
	}
	out, err := collectJSON[patchwatch.Finding](rows, "finding")
	if out == nil {
		out = []patchwatch.Finding{}
	}
	return out, err
}

// HostFindings returns the stored details of one host's open findings in
// advisory order.
func (s *Store) HostFindings(ctx context.Context, host string) ([]patchwatch.Finding, error) {
	rows, err := s.pool.Query(ctx, `SELECT advisory, data FROM finding_details WHERE host = $1 ORDER BY advisory`, host)
	if err != nil {
		return nil, fmt.Errorf("read findings of %s: %w", host, err)
	}
	return collectJSON[patchwatch.Finding](rows, "finding")
}

const (
	keyEvaluation        = "evaluation_pending"
	keyEvaluatedReleases = "evaluated_releases"
	keyEvaluatedRules    = "evaluated_rules"
)

func (s *Store) meta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return v, nil
}

func (s *Store) setMeta(ctx context.Context, key string, value []byte) error {
	var err error
	if value == nil {
		_, err = s.pool.Exec(ctx, `DELETE FROM meta WHERE key = $1`, key)
	} else {
		_, err = s.pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	return nil
}

// EvaluationPending reports whether the stored findings await a full
// re-evaluation, and why ("" when not).
func (s *Store) EvaluationPending(ctx context.Context) (string, error) {
	v, err := s.meta(ctx, keyEvaluation)
	return string(v), err
}

// SetEvaluationPending records (why not empty) or clears the need for a
// full re-evaluation.
func (s *Store) SetEvaluationPending(ctx context.Context, why string) error {
	if why == "" {
		return s.setMeta(ctx, keyEvaluation, nil)
	}
	return s.setMeta(ctx, keyEvaluation, []byte(why))
}

// EvaluatedReleases returns the releases that had advisories when the
// stored findings were last brought up to date (nil when never recorded).
func (s *Store) EvaluatedReleases(ctx context.Context) ([]string, error) {
	v, err := s.meta(ctx, keyEvaluatedReleases)
	if err != nil || v == nil {
		return nil, err
	}
	var out []string
	return out, json.Unmarshal(v, &out)
}

// SetEvaluatedReleases records the releases that had advisories when the
// stored findings were brought up to date.
func (s *Store) SetEvaluatedReleases(ctx context.Context, releases []string) error {
	data, err := json.Marshal(append([]string{}, releases...))
	if err != nil {
		return err
	}
	return s.setMeta(ctx, keyEvaluatedReleases, data)
}

// EvaluatedRules returns the fingerprint of the urgency rules the stored
// findings were evaluated with ("" when never recorded).
func (s *Store) EvaluatedRules(ctx context.Context) (string, error) {
	v, err := s.meta(ctx, keyEvaluatedRules)
	return string(v), err
}

// SetEvaluatedRules records the fingerprint of the rules in force.
func (s *Store) SetEvaluatedRules(ctx context.Context, fingerprint string) error {
	return s.setMeta(ctx, keyEvaluatedRules, []byte(fingerprint))
}

// HostsWithUrgency returns, in name order, the hosts with an open finding
// whose stored urgency is one of urgencies, through the urgency index.
func (s *Store) HostsWithUrgency(ctx context.Context, urgencies []patchwatch.Urgency) ([]string, error) {
	names := make([]string, len(urgencies))
	for i, u := range urgencies {
		names[i] = u.String()
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT host FROM finding_details WHERE data->>'urgency' = ANY($1::text[]) ORDER BY host`, names)
	if err != nil {
		return nil, fmt.Errorf("read hosts by urgency: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
