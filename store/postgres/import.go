package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// Import copies a whole database into this one, which must be empty, in
// one transaction: export walks the source into the sink it is given
// (bolt.Store.Export). After the commit it counts every table and
// compares with the records received; it returns those counts by table.
func (s *Store) Import(ctx context.Context, export func(context.Context, store.Sink) error) (map[string]int, error) {
	var counts map[string]int
	err := s.write(ctx, func(tx pgx.Tx) error {
		var used bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM advisories) OR EXISTS (SELECT 1 FROM hosts)
			OR EXISTS (SELECT 1 FROM tokens) OR EXISTS (SELECT 1 FROM findings)`).Scan(&used); err != nil {
			return err
		}
		if used {
			return fmt.Errorf("import: the target database is not empty")
		}
		im := &importer{ctx: ctx, tx: tx, batch: &pgx.Batch{}, counts: map[string]int{}}
		if err := export(ctx, im); err != nil {
			return err
		}
		if err := im.flush(); err != nil {
			return err
		}
		// Sequences continue after the imported events.
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('notify_events', 'seq'), coalesce(max(seq), 0) + 1, false) FROM notify_events`); err != nil {
			return err
		}
		counts = im.counts
		// Any catalog built before the import is of other advisories.
		return advisoryWritten(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	var mismatches []string
	tables := make([]string, 0, len(counts))
	for table := range counts {
		tables = append(tables, table)
	}
	slices.Sort(tables)
	for _, table := range tables {
		n, err := count(ctx, s, table)
		if err != nil {
			return counts, err
		}
		if n != counts[table] {
			mismatches = append(mismatches, fmt.Sprintf("%s: %d copied, %d stored", table, counts[table], n))
		}
	}
	if len(mismatches) > 0 {
		return counts, fmt.Errorf("import: counts differ: %v", mismatches)
	}
	return counts, nil
}

// importer is the store.Sink of Import: each record becomes one queued
// statement, sent in batches.
type importer struct {
	ctx    context.Context
	tx     pgx.Tx
	batch  *pgx.Batch
	counts map[string]int
}

var _ store.Sink = (*importer)(nil)

func (im *importer) queue(table, sql string, args ...any) error {
	im.counts[table]++
	im.batch.Queue(sql, args...)
	if im.batch.Len() >= chunk {
		return im.flush()
	}
	return nil
}

func (im *importer) flush() error {
	if im.batch.Len() == 0 {
		return nil
	}
	err := im.tx.SendBatch(im.ctx, im.batch).Close()
	im.batch = &pgx.Batch{}
	return err
}

func (im *importer) queueJSON(table, sql string, v any, args ...any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return im.queue(table, sql, append(args, data)...)
}

func (im *importer) Advisory(a patchwatch.Advisory) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if err := im.queue("advisories", `INSERT INTO advisories (id, digest, data) VALUES ($1, $2, $3)`, a.ID, sum[:], data); err != nil {
		return err
	}
	var releases, packages []string
	for _, f := range a.Fixes {
		releases, packages = append(releases, f.Release), append(packages, f.Package)
	}
	im.batch.Queue(`INSERT INTO fixes (release, package, advisory)
		SELECT r, p, $3 FROM unnest($1::text[], $2::text[]) AS u(r, p) ON CONFLICT DO NOTHING`, releases, packages, a.ID)
	return nil
}

func (im *importer) Host(h patchwatch.Host, index []store.ReleasePackage) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := im.queue("hosts", `INSERT INTO hosts (name, index_digest, data) VALUES ($1, $2, $3)`, h.Name, store.IndexDigest(index), data); err != nil {
		return err
	}
	releases, packages := splitPairs(index)
	im.batch.Queue(`INSERT INTO host_packages (release, package, host)
		SELECT r, p, $1 FROM unnest($2::text[], $3::text[]) AS u(r, p) ON CONFLICT DO NOTHING`, h.Name, releases, packages)
	return nil
}

func (im *importer) HostState(host string, st store.HostState) error {
	return im.queueJSON("host_state", `INSERT INTO host_state (host, data) VALUES ($1, $2)`, st, host)
}

func (im *importer) Finding(host string, r patchwatch.FindingRecord) error {
	return im.queueJSON("findings", `INSERT INTO findings (host, advisory, data) VALUES ($1, $2, $3)`, r, host, r.Advisory)
}

func (im *importer) HostRecord(r patchwatch.HostRecord) error {
	return im.queueJSON("host_records", `INSERT INTO host_records (name, owner_lower, data) VALUES ($1, $2, $3)`, r, r.Name, ownerKey(r.Owner))
}

func (im *importer) FindingDetail(host string, f patchwatch.Finding) error {
	return im.queueJSON("finding_details", `INSERT INTO finding_details (host, advisory, data) VALUES ($1, $2, $3)`, f, host, f.Advisory)
}

func (im *importer) BinaryPair(p store.BinaryPair) error {
	return im.queue("binary_sources", `INSERT INTO binary_sources (release, binary_package, source, tracks) VALUES ($1, $2, $3, $4)`,
		p.Release, p.Binary, p.Source, p.Tracks)
}

func (im *importer) Token(hash []byte, t patchwatch.Token) error {
	return im.queueJSON("tokens", `INSERT INTO tokens (id, hash, kind, host, revoked, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		t, t.ID, hash, string(t.Kind), t.Host, t.Revoked)
}

func (im *importer) Enrollment(e patchwatch.Enrollment) error {
	return im.queueJSON("enrollments", `INSERT INTO enrollments (host, data) VALUES ($1, $2)`, e, e.Host)
}

func (im *importer) Silence(sl patchwatch.Silence) error {
	return im.queueJSON("silences", `INSERT INTO silences (id, data) VALUES ($1, $2)`, sl, sl.ID)
}

func (im *importer) Event(e patchwatch.NotifyEvent) error {
	return im.queueJSON("notify_events", `INSERT INTO notify_events (seq, data) VALUES ($1, $2)`, e, int64(e.Seq))
}

func (im *importer) Delivery(d patchwatch.Delivery) error {
	return im.queueJSON("outbox", `INSERT INTO outbox (id, created_at, next_at, failed, data) VALUES ($1, $2, $3, $4, $5)`,
		d, d.ID, d.CreatedAt, d.NextAt, d.Failed)
}

func (im *importer) Notified(host, advisory string, at time.Time) error {
	v, err := at.MarshalBinary()
	if err != nil {
		return err
	}
	return im.queue("notified", `INSERT INTO notified (host, advisory, at) VALUES ($1, $2, $3)`, host, advisory, v)
}

func (im *importer) NotifyMeta(key string, value []byte) error {
	return im.queue("notify_meta", `INSERT INTO notify_meta (key, value) VALUES ($1, $2)`, key, nonNil(value))
}

func (im *importer) Cursor(feed string, value []byte) error {
	return im.queue("cursors", `INSERT INTO cursors (feed, value) VALUES ($1, $2)`, feed, nonNil(value))
}

func (im *importer) KEV(e patchwatch.KEVEntry) error {
	return im.queueJSON("kev", `INSERT INTO kev (cve, data) VALUES ($1, $2)`, e, e.CVE)
}

func (im *importer) Urgency(u patchwatch.CVEUrgency) error {
	return im.queue("debian_urgency", `INSERT INTO debian_urgency (release, package, cve, urgency) VALUES ($1, $2, $3, $4)`,
		u.Release, u.Package, u.CVE, u.Urgency)
}

func (im *importer) FeedStatus(st patchwatch.FeedStatus) error {
	return im.queueJSON("feed_status", `INSERT INTO feed_status (feed, data) VALUES ($1, $2)`, st, st.Feed)
}

func (im *importer) EvaluationState(pending string, evaluated []string) error {
	if pending != "" {
		im.batch.Queue(`INSERT INTO meta (key, value) VALUES ($1, $2)`, keyEvaluation, []byte(pending))
	}
	if evaluated != nil {
		data, err := json.Marshal(evaluated)
		if err != nil {
			return err
		}
		im.batch.Queue(`INSERT INTO meta (key, value) VALUES ($1, $2)`, keyEvaluatedReleases, data)
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
